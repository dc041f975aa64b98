"""What the all-lists tests read of a page: its entries, as (list, subuser, address)."""


def listed(response) -> set[tuple[str, str, str]]:
    assert response.status_code == 200
    table = response.context["table"]
    return {(e.list, e.record.subuser.username, e.email) for e in table.page.object_list.data}


def errors(response) -> dict:
    return dict(response.context["filter"].form.errors)
