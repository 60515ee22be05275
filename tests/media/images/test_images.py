import io

import pytest
from PIL import Image, ImageStat

from media import filters
from media.models import Media
from tests.media.conftest import post_file, processed, stored_image

pytestmark = pytest.mark.django_db


def encode(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def pixels(image):
    return list(image.get_flattened_data())


def halves(size=(400, 200), left=(220, 20, 20), right=(20, 20, 220)):
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def colorful(size=(96, 64)):
    """A gradient through many hues, saturations and brightnesses."""
    image = Image.new("RGB", size)
    image.putdata(
        [
            (x * 255 // size[0], y * 255 // size[1], (x + y) * 255 // sum(size))
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    return image


def upload_and_process(client, data, name, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, data, name, **fields)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "processing"
    return processed(response.json()["id"])


class TestImagePipeline:
    def test_exif_orientation_applied_and_metadata_stripped(self, user_api, django_capture_on_commit_callbacks):
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: the camera was turned; show it rotated 90° clockwise
        exif[0x010F] = "SpyCam"  # Make
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (4.0, 53.0, 0.0)}  # GPSInfo
        data = encode(halves(), "JPEG", exif=exif, quality=95)
        assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the input really carries GPS

        media = upload_and_process(user_api, data, "camera.jpg", django_capture_on_commit_callbacks)
        assert media.status == Media.Status.READY, media.error
        assert (media.width, media.height) == (200, 400)
        assert set(media.variants) == {"original", "medium", "thumbnail", "source"}
        for variant in media.variants.values():
            image = stored_image(variant["path"])
            assert image.format == "JPEG" and variant["content_type"] == "image/jpeg"
            assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
            assert image.size == (variant["width"], variant["height"])
            assert image.height > image.width  # rotated upright
            top = image.getpixel((image.width // 2, 2))
            bottom = image.getpixel((image.width // 2, image.height - 3))
            assert top[0] > 150 and top[2] < 90  # the red half is now on top
            assert bottom[2] > 150 and bottom[0] < 90
        assert media.upload.name == ""
        assert media.blurhash and len(media.blurhash) <= 100
        assert media.attempts == 1 and media.processed_at is not None

    def test_variant_sizes_and_raw_upload_deleted(self, user_api, django_capture_on_commit_callbacks, settings):
        data = encode(colorful((3000, 2000)), "PNG")
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(user_api, data, "big.png")
        media = processed(response.json()["id"])
        sizes = {name: (v["width"], v["height"]) for name, v in media.variants.items()}
        assert sizes.pop("source") == (2048, 1365)  # the unfiltered copy kept for a later filter
        assert sizes == {"original": (2048, 1365), "medium": (1080, 720), "thumbnail": (320, 213)}
        assert (settings.MEDIA_ROOT / "uploads").exists()
        assert not any(p.is_file() for p in (settings.MEDIA_ROOT / "uploads").rglob("*"))

    def test_small_image_is_not_upscaled(self, user_api, django_capture_on_commit_callbacks):
        media = upload_and_process(
            user_api, encode(colorful((300, 200)), "PNG"), "small.png", django_capture_on_commit_callbacks
        )
        assert {(v["width"], v["height"]) for v in media.variants.values()} == {(300, 200)}

    def test_png_with_alpha_keeps_transparency_as_webp(self, user_api, django_capture_on_commit_callbacks):
        image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
        image.paste((30, 200, 30, 255), (0, 0, 150, 200))
        media = upload_and_process(user_api, encode(image, "PNG"), "logo.png", django_capture_on_commit_callbacks)
        assert media.status == Media.Status.READY, media.error
        for variant in media.variants.values():
            out = stored_image(variant["path"])
            assert out.format == "WEBP" and out.mode == "RGBA"
            assert out.getpixel((2, out.height // 2))[3] > 240
            assert out.getpixel((out.width - 3, out.height // 2))[3] < 15

    def test_opaque_alpha_channel_becomes_jpeg(self, user_api, django_capture_on_commit_callbacks):
        image = Image.new("RGBA", (200, 200), (10, 20, 30, 255))
        media = upload_and_process(user_api, encode(image, "PNG"), "opaque.png", django_capture_on_commit_callbacks)
        assert stored_image(media.variants["original"]["path"]).format == "JPEG"

    @pytest.mark.parametrize("transparent", [False, True])
    def test_gif(self, user_api, django_capture_on_commit_callbacks, transparent):
        image = halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
        kwargs = {"transparency": image.getpixel((0, 0))} if transparent else {}
        media = upload_and_process(
            user_api, encode(image, "GIF", **kwargs), "a.gif", django_capture_on_commit_callbacks
        )
        assert media.status == Media.Status.READY, media.error
        out = stored_image(media.variants["original"]["path"])
        assert out.size == (400, 200)
        assert out.format == ("WEBP" if transparent else "JPEG")

    def test_requested_filter_is_applied(self, user_api, django_capture_on_commit_callbacks):
        media = upload_and_process(
            user_api,
            encode(colorful((400, 300)), "PNG"),
            "f.png",
            django_capture_on_commit_callbacks,
            filter="grayscale",
            alt_text="  A gradient  ",
        )
        assert media.filter == "grayscale" and media.alt_text == "A gradient"
        out = stored_image(media.variants["medium"]["path"]).convert("RGB")
        assert all(max(p) - min(p) <= 3 for p in pixels(out))


def saturation(image):
    return ImageStat.Stat(image.convert("HSV")).mean[1]


def channel_means(image):
    return ImageStat.Stat(image).mean


class TestFilters:
    def test_every_named_filter_exists(self):
        assert set(filters.IMAGE_FILTERS) == {"grayscale", "sepia", "vivid", "cool", "warm", "fade"}

    def test_grayscale_gives_equal_channels(self):
        out = filters.apply_filter(colorful(), "grayscale")
        assert out.mode == "RGB" and all(r == g == b for r, g, b in pixels(out))

    def test_sepia_is_a_warm_monotone(self):
        out = filters.apply_filter(colorful(), "sepia")
        assert all(r >= g >= b for r, g, b in pixels(out))
        red, green, blue = channel_means(out)
        assert red > blue + 20

    def test_vivid_saturates(self):
        image = colorful()
        assert saturation(filters.apply_filter(image, "vivid")) > saturation(image) + 5

    def test_cool_and_warm_shift_the_balance(self):
        image = Image.new("RGB", (32, 32), (128, 128, 128))
        cool_r, _, cool_b = channel_means(filters.apply_filter(image, "cool"))
        warm_r, _, warm_b = channel_means(filters.apply_filter(image, "warm"))
        assert cool_b > cool_r + 20
        assert warm_r > warm_b + 20

    def test_fade_lifts_blacks_and_lowers_contrast(self):
        image = halves(left=(0, 0, 0), right=(255, 255, 255))
        out = filters.apply_filter(image, "fade")
        darkest = min(min(p) for p in pixels(out))
        brightest = max(max(p) for p in pixels(out))
        assert darkest >= 30 and brightest <= 245
        assert ImageStat.Stat(out.convert("L")).stddev[0] < ImageStat.Stat(image.convert("L")).stddev[0]

    def test_filters_keep_alpha(self):
        image = Image.new("RGBA", (10, 10), (200, 100, 50, 77))
        for name in filters.IMAGE_FILTERS:
            out = filters.apply_filter(image, name)
            assert out.mode == "RGBA" and out.getpixel((0, 0))[3] == 77, name

    def test_unknown_filter_is_refused(self, user_api):
        response = post_file(user_api, encode(colorful(), "PNG"), "x.png", filter="lomo")
        assert response.status_code == 400
        assert "filter" in response.json()["error"]["fields"]
