from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("sendgrid/<str:token>/", views.sendgrid_events, name="sendgrid"),
    path("set-up/", views.set_up, name="set_up"),
]
