"""Building RedisStore's clients from URLs: what each form means and what is refused.

No server is needed to read a URL: these check the parsing, at configuration time; the
Sentinel and Cluster tests check that the clients really reach their servers.
"""

from __future__ import annotations

import pytest

from flagware import RedisStore
from flagware.stores.redis._clients import factory_from_url

TIMEOUTS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("redis://127.0.0.1:6390/2", "127.0.0.1:6390/2"),
        ("redis+sentinel://h1:26379,h2/mymaster", "sentinel 'mymaster' via h1:26379,h2:26379/0"),
        ("redis+sentinel://:pw@h1:1,[::1]:2/svc/3", "sentinel 'svc' via h1:1,::1:2/3"),
        ("rediss+sentinel://h1/svc/0?sentinel_password=x", "sentinel 'svc' via h1:26379/0"),
        ("redis+cluster://n1:7000,n2", "cluster n1:7000,n2:6379"),
        ("rediss+cluster://user:pw@n1:7000", "cluster n1:7000"),
    ],
)
def test_each_url_form_names_its_servers(url: str, described: str) -> None:
    assert factory_from_url(url, **TIMEOUTS).description == described


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://h1:26379", "names the master"),
        ("redis+sentinel://h1/svc/0/extra", "names the master"),
        ("redis+sentinel://h1/svc/zero", "must be a number"),
        ("redis+sentinel://h1/svc?sentinel_pasword=x", r"unknown redis\+sentinel URL options"),
        ("redis+sentinel://h1:port/svc", "invalid port"),
        ("redis+sentinel://h1:70000/svc", "invalid port"),
        ("redis+cluster://n1,,n2", "empty host"),
        ("redis+cluster://n1?ssl=true", "take no query options"),
        ("http://n1", "scheme"),
    ],
)
def test_a_url_it_cannot_use_is_refused_at_configuration_time(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory_from_url(url, **TIMEOUTS)


def test_from_url_refuses_before_connecting() -> None:
    with pytest.raises(ValueError, match="names the master"):
        RedisStore.from_url("redis+sentinel://127.0.0.1:1")
