"""Load believable, reproducible demo accounts: `python manage.py load_demo` (`make demo`)."""

import io
import random
import unicodedata

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from accounts import services
from accounts.models import FollowRequest, User
from socialsite.errors import ServiceError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "purple-otter-picnic"  # printed at the end; every demo account shares it
DEMO_EMAIL_DOMAIN = "demo.socialsite.example"  # marks demo accounts, so --reset touches nothing else

FIRST_NAMES = [
    "Amara", "Ben", "Chiara", "Diego", "Elif", "Farah", "Gus", "Hana", "Ines", "Jonas",
    "Kenji", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tove",
    "Uma", "Viktor", "Wren", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Camille", "Dara",
    "Emeka", "Freya", "Gabriel", "Hugo", "Isla", "Jae", "Kofi", "Leila", "Marek", "Noor",
]  # fmt: skip
LAST_NAMES = [
    "Okafor", "Lindqvist", "Rossi", "Hernández", "Yılmaz", "Haddad", "Walsh", "Sato", "Moreau", "Becker",
    "Tanaka", "Novak", "Silva", "Karimi", "Mensah", "Iyer", "O'Brien", "Costa", "Nieminen", "Berg",
    "Patel", "Ivanov", "Kowalski", "Díaz", "Demir", "Fischer", "Nakamura", "Dubois", "Ahmed", "Larsen",
]  # fmt: skip
INTERESTS = [
    "photography", "hiking", "cooking", "coffee", "jazz", "indie games", "running", "climbing",
    "cycling", "urban sketching", "film", "sci-fi", "gardening", "baking", "chess", "birdwatching",
    "open source", "typography", "vinyl", "yoga", "travel", "street food", "poetry", "astronomy",
    "football", "ceramics", "board games", "podcasts", "architecture", "surfing",
]  # fmt: skip
ROLES = [
    "Designer", "Backend developer", "Nurse", "Teacher", "Barista", "Architect", "Student",
    "Product manager", "Photographer", "Data scientist", "Chef", "Translator", "Bike mechanic",
    "Illustrator", "Librarian", "Physiotherapist", "Journalist", "Sound engineer",
]  # fmt: skip
CITIES = [
    "Lisbon", "Lagos", "Osaka", "Montréal", "Berlin", "Nairobi", "Melbourne", "Bogotá",
    "Helsinki", "Istanbul", "Glasgow", "Pune", "Valparaíso", "Seoul", "Marseille",
]  # fmt: skip
BIO_TEMPLATES = [
    "{role} in {city}. Into {a} and {b}.",
    "{role}. {a_cap} on weekends, {b} the rest of the time.",
    "{city} based. I post about {a}, {b} and whatever I'm cooking.",
    "{role} by day, {a} nerd by night. Opinions my own.",
    "Mostly {a}. Sometimes {b}. Always coffee. ({city})",
    "",  # some people never write a bio
]
PALETTE = [
    (231, 76, 60), (52, 152, 219), (46, 204, 113), (155, 89, 182), (241, 196, 15),
    (230, 126, 34), (26, 188, 156), (52, 73, 94), (236, 64, 122), (0, 150, 136),
]  # fmt: skip


def avatar_png(initials, color, size=256):
    """A colored circle with white initials, as PNG bytes."""
    image = Image.new("RGB", (size, size), (246, 246, 246))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=color)
    font = ImageFont.load_default(size=size * 2 // 5)
    draw.text((size / 2, size / 2), initials, fill=(255, 255, 255), font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def demo_people(count, seed):
    """The same seed gives the same people; a larger count only appends to the list."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data, not secrets
    people = []
    taken = {DEMO_USERNAME}
    for index in range(count):
        if index == 0:
            first, last = "Demo", "User"
            username = DEMO_USERNAME
        else:
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                base = f"{first}.{last}".lower().replace("'", "").replace("ı", "i")
                base = unicodedata.normalize("NFKD", base)
                base = base.encode("ascii", "ignore").decode()
                username = base[:26] if base not in taken else f"{base[:24]}{rng.randint(10, 99)}"
                if username not in taken:
                    break
        taken.add(username)
        interests = rng.sample(INTERESTS, rng.randint(2, 5))
        template = rng.choice(BIO_TEMPLATES)
        bio = template.format(
            role=rng.choice(ROLES),
            city=rng.choice(CITIES),
            a=interests[0],
            a_cap=interests[0].capitalize(),
            b=interests[1],
        )
        people.append(
            {
                "username": username,
                "display_name": f"{first} {last}",
                "bio": bio,
                "interests": interests,
                "is_private": index > 0 and rng.random() < 0.2,
                "avatar": index == 0 or rng.random() < 0.9,
                "color": rng.choice(PALETTE),
                "initials": f"{first[0]}{last[0]}".upper(),
                "popularity": rng.paretovariate(1.5),
            }
        )
    return people


class Command(BaseCommand):
    help = (
        "Load reproducible demo data: accounts with display names, bios, interests and generated "
        "avatars, some private accounts, follows and follow requests (some approved), a few mutes and "
        f'blocks, and a login "{DEMO_USERNAME}". Accounts that already exist are skipped, so running '
        "it twice changes nothing; --reset erases the demo accounts first. Posts, likes and comments "
        "are loaded by `load_demo_posts` (`make demo` runs both)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=30, help="How many accounts, the demo login included.")
        parser.add_argument("--seed", type=int, default=2024, help="Random seed; the same seed gives the same data.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help=f"Erase and delete the demo accounts (emails @{DEMO_EMAIL_DOMAIN}) before loading.",
        )

    def handle(self, *args, users, seed, reset, **options):
        if users < 1:
            raise CommandError("--users must be at least 1.")
        people = demo_people(users, seed)
        with transaction.atomic():
            if reset:
                self.reset()
            accounts, created = self.load_accounts(people)
            self.load_graph(people, accounts, seed)
        self.report(accounts, created)

    def reset(self):
        demo_users = list(User.objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}"))
        for user in demo_users:
            services.user_delete(user=user)
        self.stdout.write(f"Removed {len(demo_users)} demo accounts.")

    def load_accounts(self, people):
        accounts, created = {}, 0
        for person in people:
            username = person["username"]
            existing = User.objects.filter(username__iexact=username).first()
            if existing is not None:
                if (existing.email or "").lower().endswith(f"@{DEMO_EMAIL_DOMAIN}"):
                    accounts[username] = existing
                else:
                    self.stderr.write(f"Skipping {username}: a non-demo account has that username.")
                continue
            user = services.user_register(
                email=f"{username}@{DEMO_EMAIL_DOMAIN}", password=DEMO_PASSWORD, username=username
            )
            services.profile_update(
                user=user,
                display_name=person["display_name"],
                bio=person["bio"],
                interests=person["interests"],
                is_private=person["is_private"],
            )
            if person["avatar"]:
                upload = SimpleUploadedFile(
                    f"{username}.png", avatar_png(person["initials"], person["color"]), content_type="image/png"
                )
                services.avatar_set(user=user, upload=upload)
            accounts[username] = user
            created += 1
        return accounts, created

    def load_graph(self, people, accounts, seed):
        """Follows, requests, approvals, mutes and blocks, decided by the seed, written by services.

        Every step is idempotent, so a second run with the same seed finds nothing to do.
        """
        rng = random.Random(f"{seed}:graph")  # noqa: S311 -- reproducible demo data
        present = [person for person in people if person["username"] in accounts]
        if len(present) < 2:
            return
        names = [person["username"] for person in present]
        weights = [person["popularity"] for person in present]

        # A couple of mutes and a block between non-demo accounts, for the moderators' pages.
        others = [name for name in names if name != DEMO_USERNAME]
        blocked_pairs = set()
        if len(others) >= 4:
            for muter, muted in (rng.sample(others, 2) for _ in range(3)):
                services.mute_create(muter=accounts[muter], muted_user_id=accounts[muted].pk)
            blocker, blocked = rng.sample(others, 2)
            services.block_create(blocker=accounts[blocker], blocked_user_id=accounts[blocked].pk)
            blocked_pairs = {(blocker, blocked), (blocked, blocker)}

        approvals = []
        for person in present:
            follower = person["username"]
            wanted = min(len(names) - 1, 15 if follower == DEMO_USERNAME else rng.randint(2, 10))
            chosen = set()
            while len(chosen) < wanted:
                followed = rng.choices(names, weights=weights)[0]
                if followed != follower:
                    chosen.add(followed)
            for followed in sorted(chosen):
                approve = rng.random() < 0.6
                if (follower, followed) in blocked_pairs:
                    continue
                try:
                    outcome = services.follow_create(
                        follower=accounts[follower], followed_user_id=accounts[followed].pk
                    )
                except ServiceError:
                    continue
                if outcome.status == "requested" and approve:
                    approvals.append((follower, followed))

        for requester, target in approvals:
            follow_request = FollowRequest.objects.filter(
                requester=accounts[requester], target=accounts[target]
            ).first()
            if follow_request is not None:
                services.follow_request_approve(target=accounts[target], request_id=follow_request.pk)

    def report(self, accounts, created):
        skipped = len(accounts) - created
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {created} accounts created, {skipped} already there."))
        if DEMO_USERNAME in accounts:
            self.stdout.write(f"Log in as: {DEMO_USERNAME} / {DEMO_PASSWORD}")
            self.stdout.write(f"(every demo account uses the same password; emails end in @{DEMO_EMAIL_DOMAIN})")
