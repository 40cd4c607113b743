"""The baseline: the least a Django view on this stack can do per request (one indexed read,
one update, a JSON answer), so every scenario can be printed as a ratio to it."""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from services.models import Service


@csrf_exempt
def baseline(request, sid: str) -> JsonResponse:
    service = Service.objects.filter(pk=sid).values("sid", "friendly_name").first()
    Service.objects.filter(pk=sid).update(date_updated=timezone.now())
    return JsonResponse(service or {})
