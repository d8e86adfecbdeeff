"""My flows and the designer, under /automate/ (the app's urls.py names the namespace)."""

from django.urls import path

from automate.views import flows

urlpatterns = [
    path("flows/", flows.flow_list, name="flow-list"),
    path("flows/new/", flows.flow_new, name="flow-new"),
    path("flows/import/", flows.flow_import_view, name="flow-import"),
    path("flows/<int:pk>/", flows.flow_edit, name="flow-edit"),
    path("flows/<int:pk>/toggle/", flows.flow_toggle, name="flow-toggle"),
    path("flows/<int:pk>/export/", flows.flow_export_view, name="flow-export"),
    path("flows/<int:pk>/delete/", flows.flow_delete_view, name="flow-delete"),
]
