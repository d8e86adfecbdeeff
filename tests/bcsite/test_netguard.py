"""The one set of address and URL checks behind flows' HTTP actions and webhook deliveries."""

import ipaddress
import re
import socket

import pytest

from automate import netguard as flow_net
from automate.connectors.base import ActionError
from bcsite import netguard
from bcsite.api import webhook_net
from bcsite.api.webhook_net import DeliveryError

GUARDS = [
    pytest.param(flow_net.GUARD, ActionError, "flows may not call it", id="flows"),
    pytest.param(
        webhook_net.GUARD, DeliveryError, "notifications are not sent there", id="webhooks"
    ),
]


def test_both_uses_build_on_the_one_guard():
    assert isinstance(flow_net.GUARD, netguard.Guard)
    assert isinstance(webhook_net.GUARD, netguard.Guard)
    assert flow_net.Target is webhook_net.Target is netguard.Target


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("10.0.0.1", "10.0.0.1 is in a private network"),
        ("fd12:3456::1", "is in a private network"),
        ("169.254.169.254", "is link-local"),
        ("fe80::1", "is link-local"),
        ("64:ff9b:1::a00:1", "is in a local address translation network"),
        ("64:ff9b::a9fe:a9fe", "stands for 169.254.169.254, and 169.254.169.254 is link-local"),
        ("::ffff:127.0.0.1", "stands for 127.0.0.1, and 127.0.0.1 is a loopback address"),
        ("2002:a00:1::", "stands for 10.0.0.1, and 10.0.0.1 is in a private network"),
        ("240.0.0.1", "is in a private network"),
        ("100.64.0.1", "carrier-grade NAT"),
    ],
)
def test_it_refuses_addresses_that_are_not_public(guard, error, refusal, address, reason):
    with pytest.raises(error) as refused:
        guard.check_address(ipaddress.ip_address(address))
    message = str(refused.value)
    assert reason in message
    assert message.endswith(f"; {refusal}.")


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "64:ff9b::5db8:d70e"])
def test_it_accepts_public_addresses(guard, error, refusal, address):
    guard.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
def test_an_allowed_network_lets_its_addresses_through(guard, error, refusal):
    allowed = [ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("::1/128")]
    for address in ("10.1.2.3", "::ffff:10.1.2.3", "::1"):
        guard.check_address(ipaddress.ip_address(address), allowed)
    with pytest.raises(error):
        guard.check_address(ipaddress.ip_address("10.2.0.1"), allowed)


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
@pytest.mark.parametrize("value", [["10.1.0.0/16", "127.0.0.1"], "10.1.0.0/16, 127.0.0.1"])
def test_the_guards_setting_allows_networks_in_urls(guard, error, refusal, value, settings):
    setattr(settings, guard.setting, value)
    assert guard.allowed_networks() == [
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("127.0.0.1/32"),
    ]
    target = guard.check_url("http://10.1.2.3:8443/hook?x=1")
    assert (target.host, target.port, target.path) == ("10.1.2.3", 8443, "/hook?x=1")
    assert target.addresses == (ipaddress.ip_address("10.1.2.3"),)
    with pytest.raises(error, match=refusal):
        guard.check_url("http://10.2.0.1/")


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
def test_a_bad_setting_names_the_setting_and_the_value(guard, error, refusal, settings):
    setattr(settings, guard.setting, ["10.0.0.0/33"])
    with pytest.raises(error) as refused:
        guard.check_url("http://93.184.215.14/")
    assert f"The setting {guard.setting} holds '10.0.0.0/33'" in str(refused.value)


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
def test_urls_are_refused_in_each_guards_words(guard, error, refusal):
    with pytest.raises(error, match=re.escape(guard.missing_url)):
        guard.check_url("  ")
    too_long = "http://example.com/" + "x" * guard.max_url_length
    with pytest.raises(error, match=f"The {guard.url_name} is longer than"):
        guard.check_url(too_long)
    with pytest.raises(error, match=f"The {guard.url_name} http:///x names no host"):
        guard.check_url("http:///x")


@pytest.mark.parametrize(("guard", "error", "refusal"), GUARDS)
def test_a_dns_failure_that_may_pass_is_retryable(guard, error, refusal, monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "temporary failure")

    monkeypatch.setattr(netguard.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(error, match="could not be resolved right now") as failed:
        guard.check_url("http://partner.example/")
    assert failed.value.retryable is True


def test_a_guard_raises_the_error_it_is_given():
    class Refused(Exception):
        def __init__(self, message, *, retryable=False):
            super().__init__(message)
            self.retryable = retryable

    guard = netguard.Guard(
        setting="NO_SUCH_SETTING",
        error=Refused,
        max_url_length=100,
        refusal="we do not go there",
        missing_url="Give a URL.",
        wrong_scheme="Not {url}.",
        credentials_in_url="No passwords.",
    )
    with pytest.raises(Refused, match=re.escape("Not ftp://example.com/.")):
        guard.check_url("ftp://example.com/")
    with pytest.raises(Refused, match=re.escape("No passwords.")):
        guard.check_url("http://a:b@example.com/")
    with pytest.raises(Refused) as refused:
        guard.check_url("http://127.0.0.1/")
    assert str(refused.value) == (
        "The address 127.0.0.1 is a loopback address (this server itself); we do not go there."
    )
