"""A small HTML tree for tests of control panel pages: elements by test id, forms, fields and links."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    #: Text and child elements, in document order.
    content: list[str | Node] = field(default_factory=list)

    @property
    def children(self) -> list[Node]:
        return [item for item in self.content if isinstance(item, Node)]

    @property
    def text(self) -> str:
        """Return the element's text with its descendants', whitespace collapsed."""
        return " ".join("".join(self._texts()).split())

    def _texts(self) -> list[str]:
        texts: list[str] = []
        for item in self.content:
            texts.extend([item] if isinstance(item, str) else item._texts())
        return texts

    def walk(self) -> list[Node]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Return the descendants with ``tag`` (any when None) and exactly these attribute values."""
        expected = {name.replace("_", "-"): value for name, value in attrs.items()}
        return [
            node
            for node in self.walk()[1:]
            if (tag is None or node.tag == tag)
            and all(node.attrs.get(name) == value for name, value in expected.items())
        ]

    def by_test_id(self, test_id: str) -> list[Node]:
        return self.find_all(data_testid=test_id)

    def one(self, test_id: str) -> Node:
        found = self.by_test_id(test_id)
        assert len(found) == 1, f"expected one element with data-testid={test_id!r}, found {len(found)}"
        return found[0]

    def form(self, action: str) -> Node:
        """Return the one form that posts to ``action``."""
        forms = self.find_all("form", action=action)
        assert len(forms) == 1, f"expected one form with action={action!r}, found {len(forms)}"
        return forms[0]

    def fields(self) -> dict[str, str]:
        """Return what the form sends as it is shown: text inputs, ticked boxes, selected options."""
        values: dict[str, str] = {}
        for node in self.walk():
            name = node.attrs.get("name")
            if not name:
                continue
            if node.tag == "input":
                kind = node.attrs.get("type", "text")
                if kind in {"checkbox", "radio"}:
                    if "checked" in node.attrs:
                        values[name] = node.attrs.get("value", "on")
                elif kind != "submit":
                    values[name] = node.attrs.get("value", "")
            elif node.tag == "textarea":
                values[name] = "".join(item for item in node.content if isinstance(item, str))
            elif node.tag == "select":
                selected = [option for option in node.find_all("option") if "selected" in option.attrs]
                options = selected or node.find_all("option")[:1]
                values[name] = options[0].attrs.get("value", "") if options else ""
        return values

    def field_errors(self) -> dict[str, list[str]]:
        """Return the problems shown next to inputs, by input name ("" for the whole form)."""
        errors: dict[str, list[str]] = {}
        for node in self.by_test_id("field-error"):
            errors.setdefault(node.attrs.get("data-field", ""), []).append(node.text)
        return errors

    def input(self, name: str) -> Node:
        found = [node for node in self.walk() if node.attrs.get("name") == name and node.tag != "form"]
        assert found, f"no input named {name!r}"
        return found[0]

    def label_for(self, input_id: str) -> Node:
        labels = self.find_all("label", **{"for": input_id})
        assert len(labels) == 1, f"expected one label for {input_id!r}, found {len(labels)}"
        return labels[0]

    def links(self) -> list[str]:
        return [node.attrs["href"] for node in self.find_all("a") if "href" in node.attrs]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node(tag="#document", attrs={})
        self._stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag=tag, attrs={name: value or "" for name, value in attrs})
        self._stack[-1].content.append(node)
        if tag not in VOID_ELEMENTS:
            self._stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack[-1].content.append(Node(tag=tag, attrs={name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].content.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root
