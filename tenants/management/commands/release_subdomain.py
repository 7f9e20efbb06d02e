"""Release a deleted tenant's reserved subdomain before its retention period ends."""

from pathlib import Path

from django.core.management.base import CommandError

from tenants.commands import OperatorCommand
from tenants.reservations import reservations_expired, subdomain_release


class Command(OperatorCommand):
    help = (
        "Make SUBDOMAIN (reserved since its tenant was deleted) registrable again; "
        "--expired releases every reservation past its retention period. "
        "--delete-backup also removes the operator backup recorded with it."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain", nargs="?")
        parser.add_argument("--expired", action="store_true", help="every expired reservation")
        parser.add_argument("--delete-backup", action="store_true")

    def handle(self, *args, **opts):
        if bool(opts["subdomain"]) == bool(opts["expired"]):
            raise CommandError("give a SUBDOMAIN or --expired")
        if opts["expired"]:
            released = [subdomain_release(r.subdomain) for r in reservations_expired()]
            if not any(released):
                self.stdout.write("released nothing: no reservation has passed its retention")
                return
        else:
            reservation = subdomain_release(opts["subdomain"])
            if reservation is None:
                raise CommandError(f"{opts['subdomain']!r} is not reserved.")
            released = [reservation]
        for reservation in filter(None, released):
            line = f"released {reservation.subdomain}"
            if opts["delete_backup"] and reservation.backup_path:
                Path(reservation.backup_path).unlink(missing_ok=True)
                line += f"; deleted {reservation.backup_path}"
            self.stdout.write(line)
