"""What `/api/v1/` returns: plain data, names as on the pages."""

from __future__ import annotations

from rest_framework import serializers

from bounceadmin.bounces.models import Subuser


class SubuserSerializer(serializers.ModelSerializer):
    refreshable = serializers.BooleanField(read_only=True)
    last_refresh_outcome = serializers.CharField(
        source="last_refresh.outcome", default=None, read_only=True
    )

    class Meta:
        model = Subuser
        fields = ["id", "username", "enabled", "upstream_state", "refreshable",
                  "last_success_at", "last_refresh_outcome"]  # fmt: skip
