# Existing tokens become member tokens. One whose creator is gone (a removed member's, or one
# minted by create_api_token before this field existed: the two cannot be told apart) is
# therefore refused: failing closed, an operator mints a new one.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_secrets_hashed_session_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='issuer',
            field=models.CharField(choices=[('member', 'A member'), ('operator', 'An operator')], default='member', max_length=16),
        ),
    ]
