"""Users and tokens of a Cognito user pool on the target, for tests and QA.

Example:
    users = CognitoUsers(account, pool_id, client_id)   # or DeployedApp.users()
    token = users.token("alice", groups=("operators",))
"""

from __future__ import annotations

import secrets
import threading

from harness.accounts import Account


class CognitoUsers:
    """Creates named users on first use (with groups) and returns their ID or access tokens."""

    def __init__(self, account: Account, user_pool_id: str, client_id: str) -> None:
        self._idp = account.client("cognito-idp")
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._passwords: dict[str, str] = {}
        self._lock = threading.Lock()

    def ensure_user(self, username: str, groups: tuple[str, ...] = ()) -> str:
        """The user's password, creating the user (and adding it to ``groups``) when new."""
        with self._lock:
            if username in self._passwords:
                return self._passwords[username]
            password = f"Hx-{secrets.token_urlsafe(12)}9a!"
            try:
                self._idp.admin_create_user(UserPoolId=self.user_pool_id, Username=username,
                                            MessageAction="SUPPRESS", TemporaryPassword=password)
            except self._idp.exceptions.UsernameExistsException:
                pass  # made by an earlier run on a kept stack, or another worker: a new password is set below
            self._idp.admin_set_user_password(UserPoolId=self.user_pool_id, Username=username,
                                              Password=password, Permanent=True)
            for group in groups:
                self._idp.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=username,
                                                  GroupName=group)
            self._passwords[username] = password
            return password

    def tokens(self, username: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
        """IdToken, AccessToken and RefreshToken of ``username`` (admin user-password flow)."""
        password = self.ensure_user(username, groups)
        result = self._idp.admin_initiate_auth(
            UserPoolId=self.user_pool_id, ClientId=self.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password})["AuthenticationResult"]
        return {k: str(v) for k, v in result.items() if k.endswith("Token")}

    def token(self, username: str, groups: tuple[str, ...] = (), kind: str = "IdToken") -> str:
        return self.tokens(username, groups)[kind]

    def sub(self, username: str) -> str:
        user = self._idp.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        return next(str(a["Value"]) for a in user["UserAttributes"] if a["Name"] == "sub")
