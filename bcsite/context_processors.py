def shell(request):
    return {"company": getattr(request, "company", None)}
