"""`manage.py repair`: run the sweepers once, by hand (the beat task runs them every REPAIR_SECONDS)."""

from django.core.management.base import BaseCommand

from socialsite import repair


class Command(BaseCommand):
    help = "Publish the outbox's waiting messages and set stopped work going again (fan-outs, media, posts)."

    def handle(self, *args, **options):
        results = repair.run_all()
        width = max(map(len, results))
        for name, value in results.items():
            self.stdout.write(f"{name:<{width}}  {value}")
        if any(isinstance(value, str) for value in results.values()):
            self.stderr.write("Some checks failed; see the log.")
            raise SystemExit(1)
