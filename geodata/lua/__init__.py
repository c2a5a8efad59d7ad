"""OSRM Lua profiles shipped with the project (package data; see geodata.profiles)."""
