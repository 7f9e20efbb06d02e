"""Mirrors Tenantry's tenant-owned tables (users, sessions, projects, tasks, audit, tokens, invitations)."""

import uuid

from django.db import models


class Member(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    email = models.EmailField(unique=True)
    password = models.CharField(max_length=128)
    last_login = models.DateTimeField(null=True)
    name = models.CharField(max_length=150, blank=True, default="")
    role = models.CharField(max_length=16, default="member")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)


class Session(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    session_key = models.CharField(max_length=40, primary_key=True)
    session_data = models.TextField()
    expire_date = models.DateTimeField(db_index=True)
    user_id = models.UUIDField(null=True, db_index=True)


class Project(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Added by 0002: the "one real migration" of the migrate benchmark.
    bench_note = models.TextField(null=True)


class Task(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16, default="todo")
    assignee = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    due_date = models.DateField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class AuditEvent(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    actor_id = models.UUIDField(null=True)
    actor_label = models.CharField(max_length=254, default="system")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)


class ApiToken(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    user = models.ForeignKey(Member, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True)
    revoked_at = models.DateTimeField(null=True)


class Invitation(models.Model):  # noqa: DJ008 (a benchmark fixture, never displayed)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    email = models.EmailField()
    role = models.CharField(max_length=16, default="member")
    token_digest = models.CharField(max_length=128, unique=True)
    invited_by = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True)
