"""Posts, photos, likes, comments and shares for the demo accounts: `python manage.py load_demo_posts`.

Run after `load_demo` (`make demo` runs both). Every write goes through the services, photos
through the real media pipeline. Accounts that already have posts are skipped, so a second
run adds nothing.
"""

import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from accounts.management.commands.load_demo import DEMO_EMAIL_DOMAIN
from accounts.models import User
from media.services import media_create
from posts import services
from posts.models import Post
from socialsite.errors import ServiceError

TEXTS = [
    "Slow morning, strong {tag} and a playlist on repeat.",
    "Finally tried that {tag} spot everyone keeps talking about. Worth the queue.",
    "Three hours of {tag} today and my legs have opinions. Good ones, mostly.",
    "Hot take: {tag} is better in the rain.",
    "Anyone up for {tag} this weekend? Bring snacks.",
    "Learned something new about {tag} today and now I can't stop reading about it.",
    "Small win: {tag} streak, day 12.",
]
CAPTIONS = [
    "Golden hour did most of the work here. {tag}",
    "Weekend in three pictures. {tag}",
    "This light though. {tag}",
    "Found this on the walk home. {tag}",
]
COMMENTS = ["Love this!", "Where is this?", "So good 😍", "Taking notes.", "Same here!", "Next time invite me."]
REPLIES = ["Right?!", "Will do 🙂", "Down the road from the old station.", "Deal."]
FILTERS = ["", "sepia", "warm", "cool", "vivid", "fade", "grayscale"]


def landscape_png(rng, size=(960, 640)):
    """A sky-and-hills picture: gradient sky, a sun, two layers of hills."""
    width, height = size
    top = tuple(rng.randint(40, 140) for _ in range(3))
    bottom = tuple(rng.randint(150, 250) for _ in range(3))
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    sun_x, sun_y = rng.randint(100, width - 100), rng.randint(60, height // 2)
    draw.ellipse([sun_x - 50, sun_y - 50, sun_x + 50, sun_y + 50], fill=(255, 220, 120))
    for layer, shade in ((0.55, 90), (0.75, 50)):
        base = int(height * layer)
        points = (
            [(0, height)] + [(x, base + rng.randint(-60, 60)) for x in range(0, width + 120, 120)] + [(width, height)]
        )
        draw.polygon(points, fill=(shade // 2, shade, shade // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2024, help="The same seed gives the same posts.")

    def handle(self, *args, seed, **options):
        rng = random.Random(f"{seed}:posts")  # noqa: S311 -- reproducible demo data
        people = list(
            User.objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}", is_active=True)
            .prefetch_related("profile__interests")
            .order_by("username")
        )
        if not people:
            self.stderr.write("No demo accounts: run `python manage.py load_demo` first.")
            return
        created = []
        for person in people:
            if Post.objects.filter(author=person).exists():
                continue
            interests = [i.name.replace(" ", "") for i in person.profile.interests.all()] or ["life"]
            for _ in range(rng.randint(1, 3)):
                created.append(self.post_for(person, interests, people, rng))
        created = [post for post in created if post is not None]
        self.interact(created, people, rng)
        self.stdout.write(self.style.SUCCESS(f"Demo posts ready: {len(created)} new posts."))

    def post_for(self, person, interests, people, rng):
        tag = f"#{rng.choice(interests)}"
        try:
            if rng.random() < 0.4:
                photos = [
                    media_create(
                        owner=person,
                        upload=SimpleUploadedFile("photo.png", landscape_png(rng), content_type="image/png"),
                        alt_text="A drawn landscape: hills under a sunny sky.",
                    )
                    for _ in range(rng.randint(1, 3))
                ]
                return services.post_create(
                    author=person,
                    content_type="image",
                    content=rng.choice(CAPTIONS).format(tag=tag),
                    media_ids=[photo.pk for photo in photos],
                    filter=rng.choice(FILTERS),
                )
            friend = rng.choice(people)
            text = rng.choice(TEXTS).format(tag=tag)
            if friend.pk != person.pk and rng.random() < 0.3:
                text += f" @{friend.username}"
            return services.post_create(author=person, content_type="text", content=text)
        except ServiceError as exc:  # e.g. a mention of someone who blocked the author
            self.stderr.write(f"Skipped a post by {person.username}: {exc.message}")
            return None

    def interact(self, posts, people, rng):
        for post in posts:
            for fan in rng.sample(people, min(len(people), rng.randint(0, 8))):
                try:
                    services.like_create(user=fan, post_id=post.pk)
                    if rng.random() < 0.25:
                        comment = services.comment_create(author=fan, post_id=post.pk, content=rng.choice(COMMENTS))
                        if rng.random() < 0.5:
                            services.comment_create(
                                author=post.author,
                                post_id=post.pk,
                                content=rng.choice(REPLIES),
                                parent_comment_id=comment.pk,
                            )
                    if rng.random() < 0.05:
                        services.share_create(user=fan, post_id=post.pk)
                except ServiceError:
                    continue  # not visible to this fan (private account, block, pending media)
