"""The customer-service example's shipped data: the AeroPure 3 manual and FAQ (``docs/``) and past chats (``logs/``)."""
