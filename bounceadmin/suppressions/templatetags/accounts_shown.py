from django import template

register = template.Library()


@register.filter
def account(subuser) -> str:
    """A subuser's name as the pages show it; the parent account's own lists are "parent
    account" (its username is the parent's login, which says nothing on a list)."""
    return "parent account" if getattr(subuser, "is_parent", False) else str(subuser)
