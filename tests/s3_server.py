"""A real S3-compatible server for tests: moto's standalone server
(``python -m moto.server``) on a free loopback port, one per test session.

Every test gets its own prefix in one bucket (``S3Server.url()``), so tests
never see each other's objects.

moto checks no presigned URL: it answers one whose signature was altered, or
whose ``X-Amz-Expires`` has passed, as if it were valid (its signature checks,
off by default, only read the ``Authorization`` header). ``presigned_refusal``
says what AWS S3 would answer instead, recomputing the signature with
botocore (which moto depends on), the signer of AWS's own SDK.
"""

from __future__ import annotations

import ctypes
import hmac
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from processes import free_port

if TYPE_CHECKING:
    from obstore.store import S3Config

START_TIMEOUT_S = 20.0
# moto accepts any key pair; these are never real.
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    @property
    def config(self) -> S3Config:
        """The credentials and region, as ``S3FileStore(config=...)`` takes them."""
        return {
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
            "region": REGION,
        }

    @property
    def env(self) -> dict[str, str]:
        """The same as the standard AWS variables, for a hub process."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": REGION,
        }

    def url(self) -> str:
        """``s3://bucket/<a fresh prefix>``."""
        return f"s3://{self.bucket}/test-{uuid.uuid4().hex}"

    def object_url(self, key: str) -> str:
        """The plain (unsigned) URL of ``key`` in the bucket (prefix included)."""
        return f"{self.endpoint}/{self.bucket}/{key}"


def start_moto(port: int, log_path: str) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )


def die_with_parent() -> None:
    """In the child: SIGKILL when pytest dies, even killed itself (the session's
    cleanup then never runs, and the server would outlive it)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def wait_until_serving(process: subprocess.Popen[bytes], endpoint: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"moto server not answering after {START_TIMEOUT_S} s")


def create_bucket(endpoint: str, bucket: str) -> None:
    # us-east-1 takes a bare PUT (no CreateBucketConfiguration body); moto
    # needs no signature for it.
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200, response.read()


SERVER = pytest.StashKey[S3Server]()


def shared_s3_server(request: pytest.FixtureRequest) -> S3Server:
    """The session's one moto server, started on first use by whichever
    fixture asks first (``s3_server`` here, ``file_store``'s s3 branch), and
    killed when the session ends."""
    stash = request.config.stash
    if SERVER not in stash:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        process = start_moto(port, str(factory.mktemp("moto") / "moto.log"))
        request.config.add_cleanup(lambda: stop(process))
        try:
            wait_until_serving(process, endpoint)
            server = S3Server(endpoint, "hub-test")
            create_bucket(endpoint, server.bucket)
        except BaseException:
            stop(process)
            raise
        stash[SERVER] = server
    return stash[SERVER]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """moto's S3 on a free loopback port with one bucket (shared by the session)."""
    return shared_s3_server(request)


def presigned_refusal(url: str, method: str, now: datetime | None = None) -> str | None:
    """Why AWS S3 would refuse ``method url`` at ``now`` (``AccessDenied``, an
    expired request; ``SignatureDoesNotMatch``), or None if it would accept it.
    The signature is recomputed from the URL's own query, minus
    ``X-Amz-Signature``, with the test credentials."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    given = params.get("X-Amz-Signature")
    signed_at = params.get("X-Amz-Date")
    expires = params.get("X-Amz-Expires")
    if given is None or signed_at is None or expires is None or not expires.isdigit():
        return "AccessDenied: not a presigned URL"
    start = datetime.strptime(signed_at, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if (now or datetime.now(UTC)) > start + timedelta(seconds=int(expires)):
        return "AccessDenied: Request has expired"
    # S3 signs the decoded parameters, each re-encoded its own way (botocore
    # does the same with ``params``), so how the URL spelled them does not matter.
    request = AWSRequest(
        method=method,
        url=urlunsplit(parts._replace(query="")),
        params=[(name, value) for name, value in query if name != "X-Amz-Signature"],
    )
    request.context["timestamp"] = signed_at
    auth = S3SigV4QueryAuth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION)
    string_to_sign = auth.string_to_sign(request, auth.canonical_request(request))
    expected = auth.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return "SignatureDoesNotMatch"
    return None
