"""Refusals of the accounts services, each with the status and code the API answers."""


class AccountError(Exception):
    """Refused with a message meant for the person asking."""

    status_code = 400
    code = "invalid"


class OwnerRequired(AccountError):
    """Only an owner, acting now in person or through a token they created, may do this."""

    status_code = 403
    code = "owner_required"


class NotTheHolder(AccountError):
    """A credential is handed only to its holder: rotating another's token is refused."""

    status_code = 403
    code = "not_token_holder"
