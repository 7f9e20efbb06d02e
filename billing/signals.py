"""Signals billing sends."""

from django.dispatch import Signal

# Sent after a plan change has committed, with sender=Plan and the keyword
# arguments tenant, old_plan, new_plan. billing/receivers.py queues the move job
# when new_plan.required_isolation asks for a placement the tenant does not have
# (billing.subscriptions.isolation_target); tenancy itself never hears of plans.
plan_changed = Signal()
