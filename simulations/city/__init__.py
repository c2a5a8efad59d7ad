"""Generated marketplace days on a road network (OSRM), through the service's dispatch code."""
