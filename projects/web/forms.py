"""Forms of the project pages; they validate input, the services decide."""

from django import forms

from accounts.models import User
from projects.models import TaskStatus


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=300)
    status = forms.ChoiceField(choices=TaskStatus.choices, initial=TaskStatus.TODO)
    assignee = forms.ModelChoiceField(queryset=User.unscoped.none(), required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            tenant_id=tenant.pk, is_active=True
        ).order_by("email")
