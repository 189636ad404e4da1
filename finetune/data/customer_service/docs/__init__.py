"""AeroPure 3 product documents in English and Chinese: the knowledge the customer-service assistant answers from."""
