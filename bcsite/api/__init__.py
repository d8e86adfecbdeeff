"""The connector API: BC-shaped REST over the registered tables, webhook and business event
subscriptions, flows and approvals, for partners and their integrations."""
