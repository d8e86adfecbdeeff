from django.urls import path

from records import views

urlpatterns = [
    path("company/switch/", views.company_switch, name="company_switch"),
]
