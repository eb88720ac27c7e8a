from storage.diff import Listed, diff


def pub(key, title=None, url=None, description="d", position=1):
    return Listed(key, title or key.upper(), url or f"https://x.test/{key}.pdf", description, position)


def listing(*pubs):
    return [Listed(p.key, p.title, p.url, p.description, i + 1) for i, p in enumerate(pubs)]


def test_additions_at_the_top_are_not_a_reorder():
    old = listing(pub("a"), pub("b"))
    new = listing(pub("c"), pub("a"), pub("b"))
    changes = diff(old, new)
    assert [p.key for p in changes.added] == ["c"]
    assert not changes.removed and not changes.modified and not changes.reordered


def test_reorder_is_reported_but_is_no_publication_change():
    changes = diff(listing(pub("a"), pub("b"), pub("c")), listing(pub("c"), pub("a"), pub("b")))
    assert changes.publication_changes == 0
    assert {r.key: (r.old_position, r.new_position) for r in changes.reordered} == {
        "c": (3, 1), "a": (1, 2), "b": (2, 3)}
    assert changes.summary() == "order changed"


def test_removed_and_modified_fields_before_and_after():
    old = listing(pub("a", description="old words"), pub("b"))
    new = listing(pub("a", description="new words"))
    changes = diff(old, new)
    assert [p.key for p in changes.removed] == ["b"]
    (m,) = changes.modified
    assert m.fields == ("description",)
    assert m.public()["changes"] == {"description": {"before": "old words", "after": "new words"}}
    assert changes.summary() == "1 removed, 1 modified"


def test_url_change_for_the_same_key_is_modified_and_moved():
    old = listing(pub("cops-p1", url="https://a.test/cops-p1-pub.pdf"))
    new = listing(pub("cops-p1", url="https://a.test/ric/cops-p1-pub.pdf"))
    changes = diff(old, new)
    assert [m.fields for m in changes.modified] == [("url",)]
    assert [m.after.key for m in changes.moved] == ["cops-p1"]
    assert not changes.added and not changes.removed


def test_seen_before_makes_a_return_a_reappearance():
    changes = diff(listing(pub("a")), listing(pub("a"), pub("b")), seen_before=frozenset({"b"}))
    assert not changes.added
    assert [p.key for p in changes.reappeared] == ["b"]


def test_text_diff_is_unified():
    changes = diff([], [], old_text="one\ntwo", new_text="one\nthree", labels=("v1", "v2"))
    assert changes.text_diff.splitlines()[:2] == ["--- v1", "+++ v2"]
    assert "-two" in changes.text_diff and "+three" in changes.text_diff
