from django.urls import path

from leads.web import kanban, lead_page, manager, mine, pools

app_name = "leads"

urlpatterns = [
    # The pools (公海 and team pools): claim, claim next, bulk claim or assign.
    path("pool/", pools.pool_list, name="pool"),
    path("pool/claim-next/", pools.claim_next, name="claim-next"),
    path("pool/bulk/", pools.bulk, name="bulk"),
    path("<int:pk>/claim/", pools.claim, name="claim"),
    # The rep's own leads.
    path("mine/", mine.my_leads, name="mine"),
    path("mine/board/", kanban.board, name="mine-board"),
    path("<int:pk>/move/", kanban.move, name="move"),
    # The lead page and what is done on it.
    path("<int:pk>/", lead_page.lead_detail, name="detail"),
    path("<int:pk>/follow-up/", lead_page.follow_up, name="follow-up"),
    path("<int:pk>/action/", lead_page.action, name="action"),
    path("<int:pk>/convert/", lead_page.convert, name="convert"),
    path("<int:pk>/reveal/", lead_page.reveal, name="reveal"),
    # Managers: the team board, the funnel and channel ROI.
    path("team/", manager.board, name="team"),
    path("funnel/", manager.funnel_page, name="funnel"),
]
