"""The SSRF guard: which addresses flows may call, and that it connects where it checked."""

import ipaddress
import re
import socket

import pytest
from werkzeug import Response

from automate import netguard
from automate.connectors.base import ActionError


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Resolve the given names to the given addresses; other names as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port),
                )
                for ip in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "is in a private network"),
        ("172.16.5.4", "is in a private network"),
        ("192.168.1.1", "is in a private network"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private network"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fd12:3456::1", "private network"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "stands for 10.0.0.1"),
        ("::ffff:169.254.169.254", "stands for 169.254.169.254"),
        ("2002:a00:1::", "stands for 10.0.0.1"),
        ("64:ff9b::7f00:1", "stands for 127.0.0.1"),
    ],
)
def test_it_refuses_addresses_that_are_not_public(address, reason):
    with pytest.raises(ActionError) as refused:
        netguard.check_address(ipaddress.ip_address(address))
    assert reason in refused.value.message
    assert "flows may not call it" in refused.value.message
    assert refused.value.retryable is False


def test_it_names_the_private_address_in_its_message():
    with pytest.raises(ActionError) as refused:
        netguard.check_address(ipaddress.ip_address("10.0.0.1"))
    assert refused.value.message == (
        "The address 10.0.0.1 is in a private network; flows may not call it."
    )


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "64:ff9b::5db8:d70e"])
def test_it_accepts_public_addresses(address):
    netguard.check_address(ipaddress.ip_address(address))


def test_an_allowed_network_lets_its_addresses_through():
    allowed = [ipaddress.ip_network("10.1.0.0/16")]
    netguard.check_address(ipaddress.ip_address("10.1.2.3"), allowed)
    netguard.check_address(ipaddress.ip_address("::ffff:10.1.2.3"), allowed)
    with pytest.raises(ActionError):
        netguard.check_address(ipaddress.ip_address("10.2.0.1"), allowed)


def test_a_bad_allowed_network_setting_is_reported(settings):
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = ["10.0.0.0/33"]
    with pytest.raises(ActionError, match="AUTOMATE_HTTP_ALLOWED_NETWORKS"):
        netguard.allowed_networks()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://0/",
        "http://localhost/",
    ],
)
def test_it_refuses_urls_of_internal_hosts(url):
    with pytest.raises(ActionError, match="flows may not call it"):
        netguard.guarded_request("GET", url, timeout=2)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https"),
        ("gopher://example.com/", "Only http and https"),
        ("ftp://example.com/", "Only http and https"),
        ("http://user:secret@example.com/", "authentication input"),
        ("http:///path", "names no host"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("", "Give the URL"),
    ],
)
def test_it_refuses_urls_it_cannot_check(url, message):
    with pytest.raises(ActionError, match=message):
        netguard.guarded_request("GET", url, timeout=2)


def test_a_name_with_one_internal_address_among_public_ones_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"partner.example": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(ActionError, match=re.escape("10.0.0.7 is in a private network")):
        netguard.check_url("https://partner.example/api")


def test_localhost_is_refused_unless_every_address_is_allowed(monkeypatch, settings):
    fake_dns(monkeypatch, {"localhost": ["::1", "127.0.0.1"]})
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with pytest.raises(ActionError, match="::1 is a loopback address"):
        netguard.check_url("http://localhost:8000/")
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    assert netguard.check_url("http://localhost:8000/").port == 8000


@pytest.mark.parametrize(
    ("errno", "message", "retryable"),
    [
        (socket.EAI_NONAME, "does not exist", False),
        (socket.EAI_AGAIN, "could not be resolved right now", True),
    ],
)
def test_a_host_that_does_not_resolve_is_a_clear_error(monkeypatch, errno, message, retryable):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(errno, "lookup failed")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(ActionError, match=message) as failed:
        netguard.check_url("http://no-such-host.invalid/")
    assert failed.value.retryable is retryable


@pytest.mark.slow
def test_it_connects_to_the_address_it_checked_and_sends_the_host_name(
    httpserver, monkeypatch, loopback_allowed
):
    # The name resolves to the test server's address at check time; the request must go to
    # that address, carrying the name in the Host header, without resolving the name again.
    fake_dns(monkeypatch, {"partner.example": ["127.0.0.1"]})
    seen = {}

    def handler(request):
        seen["host"] = request.headers["Host"]
        return Response("hello", content_type="text/plain")

    httpserver.expect_request("/ping").respond_with_handler(handler)
    url = f"http://partner.example:{httpserver.port}/ping"
    resolved = []
    original = netguard.resolve
    monkeypatch.setattr(
        netguard, "resolve", lambda host, port: resolved.append(host) or original(host, port)
    )
    response = netguard.guarded_request("GET", url, timeout=5)
    assert response.status == 200
    assert response.body == b"hello"
    assert seen["host"] == f"partner.example:{httpserver.port}"
    assert resolved == ["partner.example"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "location", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin"]
)
def test_a_redirect_to_an_internal_address_is_refused(httpserver, loopback_allowed, location):
    httpserver.expect_request("/go").respond_with_data(
        "", status=302, headers={"Location": location}
    )
    with pytest.raises(ActionError, match="flows may not call it"):
        netguard.guarded_request("GET", httpserver.url_for("/go"), timeout=5)


@pytest.mark.slow
def test_redirects_are_followed_and_counted(httpserver, loopback_allowed):
    for hop in range(3):
        httpserver.expect_request(f"/r{hop}").respond_with_data(
            "", status=307, headers={"Location": f"/r{hop + 1}"}
        )
    httpserver.expect_request("/r3").respond_with_data("arrived")
    response = netguard.guarded_request("GET", httpserver.url_for("/r0"), timeout=5)
    assert response.body == b"arrived"
    assert response.url.endswith("/r3")
    with pytest.raises(ActionError, match="redirected more than 2 times"):
        netguard.guarded_request("GET", httpserver.url_for("/r0"), timeout=5, max_redirects=2)


@pytest.mark.slow
def test_a_see_other_redirect_turns_post_into_get_without_body(httpserver, loopback_allowed):
    httpserver.expect_request("/form", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/done"}
    )
    httpserver.expect_request("/done", method="GET").respond_with_data("done")
    response = netguard.guarded_request(
        "POST", httpserver.url_for("/form"), headers={"Content-Type": "text/plain"}, body=b"x"
    )
    assert response.body == b"done"
    assert httpserver.log[-1][0].method == "GET"
    assert httpserver.log[-1][0].get_data() == b""


@pytest.mark.slow
def test_credentials_do_not_follow_a_redirect_to_another_origin(
    httpserver, monkeypatch, loopback_allowed
):
    fake_dns(monkeypatch, {"other.example": ["127.0.0.1"]})
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": f"http://other.example:{httpserver.port}/end"}
    )
    httpserver.expect_request("/end").respond_with_data("end")
    netguard.guarded_request(
        "GET", httpserver.url_for("/start"), headers={"Authorization": "Bearer secret"}
    )
    first, second = (entry[0] for entry in httpserver.log[-2:])
    assert first.headers.get("Authorization") == "Bearer secret"
    assert second.headers.get("Authorization") is None


@pytest.mark.slow
def test_a_response_over_the_limit_is_not_read(httpserver, loopback_allowed):
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with pytest.raises(ActionError, match="larger than"):
        netguard.guarded_request("GET", httpserver.url_for("/big"), max_bytes=1000)


def test_a_refused_connection_is_retryable(loopback_allowed):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket closes
    with pytest.raises(ActionError) as failed:
        netguard.guarded_request("GET", f"http://127.0.0.1:{port}/", timeout=5)
    assert failed.value.retryable is True
    assert "Could not connect" in failed.value.message
