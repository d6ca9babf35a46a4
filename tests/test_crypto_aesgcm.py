"""The value cipher takes AESGCM from cryptography's Rust bindings to skip an import;
it must be the very class the public API exports, or the public one."""

from __future__ import annotations

import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envshim.crypto import aesgcm


def test_the_cipher_class_is_cryptographys_public_aesgcm():
    assert aesgcm._aesgcm_class() is AESGCM


def test_decrypting_does_not_import_the_public_ciphers_package():
    code = (
        "import sys, os; from envshim.crypto import aesgcm; "
        "c = aesgcm.cipher(os.urandom(32)); iv = os.urandom(32); "
        "ct = c.encrypt(iv, b'x', b'aad'); assert c.decrypt(iv, ct, b'aad') == b'x'; "
        "print('cryptography.hazmat.primitives.ciphers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
