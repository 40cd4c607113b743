"""The demo site's pages."""

from django.urls import path

from twostep import views_account, views_passkeys, views_signin

urlpatterns = [
    path("", views_signin.home, name="home"),
    path("signup/", views_signin.signup, name="signup"),
    path("login/", views_signin.signin, name="login"),
    path("logout/", views_signin.signout, name="logout"),
    path("login/second-step/", views_signin.second_step, name="second_step"),
    path("login/sms/<str:factor_sid>/", views_signin.send_sms, name="send_sms"),
    path("login/code/<str:factor_sid>/", views_signin.enter_code, name="enter_code"),
    path("login/recovery-code/", views_signin.use_recovery_code, name="use_recovery_code"),
    path("passkeys/sign-in/options/", views_passkeys.sign_in_options, name="passkey_options"),
    path("passkeys/sign-in/verify/", views_passkeys.sign_in_verify, name="passkey_verify"),
    path("account/", views_account.account, name="account"),
    path("account/app/", views_account.app_start, name="app_start"),
    path("account/app/confirm/", views_account.app_confirm, name="app_confirm"),
    path("account/sms/", views_account.phone_start, name="phone_start"),
    path("account/sms/confirm/", views_account.phone_confirm, name="phone_confirm"),
    path("account/passkey/", views_passkeys.add_passkey, name="passkey_add"),
    path("account/passkey/options/", views_passkeys.register_options, name="passkey_reg_options"),
    path("account/passkey/verify/", views_passkeys.register_verify, name="passkey_reg_verify"),
    path("account/recovery-codes/", views_account.recovery_codes, name="recovery_codes"),
    path("account/recovery-codes/new/", views_account.recovery_codes_new, name="recovery_new"),
    path(
        "account/recovery-codes/recovery-codes.txt",
        views_account.recovery_codes_download,
        name="recovery_download",
    ),
    path("account/off/", views_account.turn_off, name="turn_off"),
    path("account/off/sms/", views_account.turn_off_sms, name="turn_off_sms"),
]
