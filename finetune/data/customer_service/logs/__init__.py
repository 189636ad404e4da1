"""Past customer-service chats about the AeroPure 3, as exported from a help desk: messy on purpose."""
