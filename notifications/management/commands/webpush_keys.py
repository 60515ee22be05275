"""Print a new VAPID key pair for Web Push: `python manage.py webpush_keys`.

Put the two lines in the environment (docs/operations.md, "Web Push"). Changing the pair later
makes every browser's subscription useless (they were made with the old public key): the push
services answer 403 and the browsers have to subscribe again.
"""

from django.core.management.base import BaseCommand

from notifications import push


class Command(BaseCommand):
    help = "Print a new VAPID key pair (WEBPUSH_VAPID_PUBLIC_KEY and WEBPUSH_VAPID_PRIVATE_KEY)."

    def handle(self, *args, **options):
        pair = push.keys()
        self.stdout.write(f"WEBPUSH_VAPID_PUBLIC_KEY={pair['public_key']}")
        self.stdout.write(f"WEBPUSH_VAPID_PRIVATE_KEY={pair['private_key']}")
