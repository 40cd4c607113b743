from django.urls import path

from services.api import views

urlpatterns = [
    path("Services", views.ServiceListView.as_view(), name="service-list"),
    path("Services/<str:sid>", views.ServiceDetailView.as_view(), name="service-detail"),
]
