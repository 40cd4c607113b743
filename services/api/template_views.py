"""`/v2/Templates`: the verification templates an account may send with."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from services import template_queries
from services.api.template_serializers import TemplateListQuery, TemplateSerializer
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, renderer, validated


class TemplateListView(TwilioView):
    @extend_schema(
        operation_id="ListVerificationTemplate",
        parameters=[PageQuery, TemplateListQuery],
        responses={200: TemplateSerializer(many=True)},
        tags=["Templates"],
        description="The built-in templates, the ones an operator added for every account "
        "and the account's own, oldest first, each with its translations. Operators add "
        "templates in the console; a Verification's `TemplateSid` or a Service's "
        "`DefaultTemplateSid` chooses one.",
    )
    def get(self, request):
        form = validated(TemplateListQuery, request, source="query")
        friendly_name = form.validated_data.get("friendly_name")
        return Response(
            paginate(
                request,
                template_queries.template_list(account=self.account, friendly_name=friendly_name),
                key="templates",
                render=renderer(TemplateSerializer, request),
                extra_query={"FriendlyName": friendly_name},
            )
        )
