"""The staff side: accounts, scopes, and the queries the console and staff API share."""
