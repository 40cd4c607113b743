"""The device's P-256 key, in the encodings Twilio's Verify Push SDKs put on the wire.

Both SDKs (Android `KeyStoreAdapter.create`, iOS `ECSigner.getPublic`) send the public key as
standard base64 of the DER SubjectPublicKeyInfo, and prove possession of the key when verifying
a factor by signing the factor SID with ECDSA/SHA-256 and sending the DER signature in standard
base64 (`KeyStoreAdapter.signAndEncode`). A server that accepts these bytes accepts the SDKs'.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


class DeviceKey:
    """One factor's key pair (the SDKs make a new one for every factor they create)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("Verify Push keys are P-256 (ES256)")
        self.private_key = private_key

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: str) -> DeviceKey:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the stored key is not an EC private key")
        return cls(key)

    def to_pem(self) -> str:
        """PKCS#8 PEM, unencrypted: the state file is the device's key store (mode 0600)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def public_key_b64(self) -> str:
        """`Binding.PublicKey`: base64 of the DER SubjectPublicKeyInfo."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign_b64(self, message: str) -> str:
        """The factor-verification `AuthPayload`: DER ECDSA/SHA-256 signature, base64."""
        signature = self.private_key.sign(message.encode(), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()
