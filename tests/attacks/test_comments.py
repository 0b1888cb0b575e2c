"""A member whose client forges comments cannot reach past the council's own
discussion: a comment naming a subject of another council, a reply to a comment on
another subject, or a mention of someone who is not a member is ignored by the honest
replicas; markup in a comment stays inert on the page; a comment written concurrently
with its author's removal is void, in the domain and on the page."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from attacks.adversary import Adversary
from conftest import T0, council_of_three, everyone, send
from shora.domain.decisions import kinds as dck
from shora.domain.discussion import kinds as dk
from shora.kernel import crypto
from web.test_web_decisions import carry, propose, two_members, words

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _proposal(node: object, council: bytes) -> bytes:
    body = dck.Propose(title="Water", text="Who fetches it?", method="yes_no", deadline=T0 + 90_000)
    return node.decisions.propose(council, body)  # type: ignore[attr-defined]


def test_forged_comments_outside_the_council_are_ignored(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as ((a, b, m), council, _clock):
        own = _proposal(a, council)
        elsewhere = m.councils.create("Other", "", "Mina")
        foreign = _proposal(m, elsewhere)
        everyone([a, b, m])
        liar = Adversary(m, council)
        honest = b.discussion.comment(council, own, "I can go")
        other = _proposal(a, council)
        a.discussion.comment(council, other, "a second subject")
        everyone([a, b, m])
        stranger = crypto.random_bytes(32)
        forged = [
            liar.forge("comment", dk.Comment(subject=foreign, text="over there")),
            liar.forge("comment", dk.Comment(subject=own, text="hey", mentions=[stranger])),
            liar.forge("comment", dk.Comment(subject=other, text="x", reply_to=honest)),
            liar.forge("comment", dk.Comment(subject=bytes(32), text="on nothing")),
        ]
        a.bundles.import_envelopes([f.raw for f in forged])
        # The kernel accepts them (well-formed, by a member); the reader counts none.
        ids = {f.id for f in forged}
        rows = a.store.rows("SELECT id FROM events WHERE kind='comment' AND valid=1")
        assert ids <= {bytes(r[0]) for r in rows}
        for subject in (own, other, foreign):
            assert not ids & {c.id for c in a.discussion.comments(council, subject)}
        assert [c.id for c in a.discussion.comments(council, own)] == [honest]
        assert not ids & {n.comment.id for n in b.discussion.notifications(council)}
        # The forged kind with a too-long text or too many mentions never decodes.
        too_long = {"subject": own, "text": "x" * (dk.MAX_COMMENT_CHARS + 1)}
        too_many = {"subject": own, "text": "x", "mentions": [own] * (dk.MAX_MENTIONS + 1)}
        big = [liar.forge("comment", msgspec.msgpack.encode(b)) for b in (too_long, too_many)]
        a.bundles.import_envelopes([f.raw for f in big])
        for f in big:
            assert a.store.one("SELECT COUNT(*) FROM events WHERE id=?", (f.id,)) == 0


def test_a_comment_concurrent_with_removal_is_void(tmp_path: Path) -> None:
    with council_of_three(tmp_path) as ((a, b, m), council, clock):
        pid = _proposal(a, council)
        everyone([a, b, m])
        late = m.discussion.comment(council, pid, "before you notice")  # not yet sent
        clock.t += 60
        a.membership.remove(council, m.identity(council).sign_pk)
        send(a, b)
        b.membership.remove(council, m.identity(council).sign_pk)
        send(b, a)
        send(m, a)
        # a holds the comment, voided by the kernel, and the discussion does not show it
        assert a.store.one("SELECT valid FROM events WHERE id=?", (late,)) == 0
        assert a.discussion.comments(council, pid) == []


def test_forged_markup_and_removed_author_on_the_page(tmp_path: Path) -> None:
    with two_members(tmp_path) as (a, b, home):
        url = propose(a, home, title="Water tank")
        carry(a, b, home)
        council = bytes.fromhex(home.rsplit("/", 1)[1])
        node = b.keeper.node
        assert node is not None
        liar = Adversary(node, council)
        subject = bytes.fromhex(url.rstrip("/").rsplit("/", 1)[1])
        forged = liar.forge("comment", dk.Comment(subject=subject, text=XSS))
        owner = a.keeper.node
        assert owner is not None
        owner.bundles.import_envelopes([forged.raw])
        found = re.search(r'href="(/councils/[0-9a-f]{64}/discuss/[0-9a-f]{64})"', a.get(url).text)
        assert found is not None
        page = a.get(found.group(1)).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert XSS in words(page)
        # Bahar comments, then is removed before her comment arrives: void on the page.
        late = node.discussion.comment(council, subject, "written as I am removed")
        owner.membership.remove(council, liar.key)
        carry(b, a, home)
        assert owner.store.one("SELECT valid FROM events WHERE id=?", (late,)) == 0
        assert "written as I am removed" not in words(a.get(found.group(1)).text)
