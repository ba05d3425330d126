"""Certificates for the listener tests, made at test time with the openssl command line.

Nothing here is committed key material: every run makes its own CAs, keys and certificates in a temporary
directory. EC P-256 keys (fast to make), certificates valid for one day.
"""

import os
import shutil
import subprocess
import time

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


class Pki:
    """Certificates made with the openssl command line. EC P-256 keys: fast to make, valid for one day."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(self.dir, exist_ok=True)
        self._serial = int(time.time() * 1000) & 0x7FFFFFFF

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args, stdin=None):
        result = subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError("openssl %s failed: %s" % (" ".join(args),
                                                            result.stderr.decode("utf-8", "replace")))
        return result.stdout

    def _new_key(self, name):
        key = self.path(name + ".key")
        self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        return key

    def make_ca(self, name, cn=None):
        """Self-signed CA: returns (name.crt, name.key)."""
        key = self._new_key(name)
        crt = self.path(name + ".crt")
        self._openssl("req", "-x509", "-new", "-key", key, "-out", crt, "-days", "1", "-sha256",
                      "-subj", "/O=mqttd tests/CN=%s" % (cn or name),
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return crt, key

    def issue(self, name, ca, cn, server=True):
        """Leaf certificate signed by ca=(crt, key): returns (name.crt, name.key)."""
        key = self._new_key(name)
        csr = self.path(name + ".csr")
        crt = self.path(name + ".crt")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature,keyEncipherment\n")
            if server:
                f.write("extendedKeyUsage=serverAuth\n")
                f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        self._openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/O=mqttd tests/CN=%s" % cn)
        self._serial += 1
        self._openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial",
                      str(self._serial), "-days", "1", "-sha256", "-extfile", ext, "-out", crt)
        return crt, key

    def encrypt_key(self, key, name, passphrase):
        """Writes key encrypted with AES-256 under passphrase: returns (name.key, name.pass)."""
        pass_file = self.path(name + ".pass")
        with open(pass_file, "w") as f:
            f.write(passphrase + "\n")
        out = self.path(name + ".key")
        self._openssl("pkey", "-in", key, "-aes256", "-passout", "file:" + pass_file, "-out", out)
        return out, pass_file


class StandardPki(Pki):
    """The set every test uses: ca, server (localhost, 127.0.0.1, ::1), client CN=device-42, other_ca."""

    CLIENT_CN = "device-42"

    def __init__(self, directory):
        super().__init__(directory)
        self.ca = self.make_ca("ca", "mqttd test CA")
        self.server = self.issue("server", self.ca, "localhost", server=True)
        self.client = self.issue("client", self.ca, self.CLIENT_CN, server=False)
        self.other_ca = self.make_ca("other-ca", "unrelated CA")
        self.other_client = self.issue("other-client", self.other_ca, "intruder", server=False)

    @property
    def ca_file(self):
        return self.ca[0]
