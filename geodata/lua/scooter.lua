-- Courier scooter profile: the stock OSRM bicycle profile with scooter speeds.
--
-- Why bicycle and not car: courier scooters (e-scooters and 25 km/h-class e-mopeds) follow
-- cycle rules almost everywhere -- cycleways allowed, motorways/trunks forbidden, pushed
-- through pedestrian zones at walking pace -- and their speed is set by the vehicle's
-- limiter rather than by the road class. So access, one-way and turn handling come from
-- bicycle.lua unchanged and only the speeds are raised:
--   roads and cycleways 15 -> 20 km/h cruising, tracks 12 -> 14, paths 13 -> 15,
--   the per-vehicle cap 21 -> 25 km/h; walking/pushing speed stays 4 km/h.
--
-- The placeholder below is replaced with the osrm-bindings profile folder at import time
-- (geodata.profiles.render_profile), so `require('lib/...')` in bicycle.lua resolves.

local osrm_profiles_dir = '@OSRM_PROFILES_DIR@'
package.path = osrm_profiles_dir .. '/?.lua;' .. package.path

local bicycle = dofile(osrm_profiles_dir .. '/bicycle.lua')

local scooter_cruise_kmh = 20
local scooter_speeds = {
  track = 14,
  path = 15,
}

local function scooter_setup()
  local profile = bicycle.setup()
  profile.default_speed = scooter_cruise_kmh
  profile.vehicle_max_speed = 25
  profile.properties.max_speed_for_map_matching = 45 / 3.6
  for highway, speed in pairs(profile.bicycle_speeds) do
    profile.bicycle_speeds[highway] = scooter_speeds[highway] or math.max(speed, scooter_cruise_kmh)
  end
  for surface, speed in pairs(profile.surface_speeds) do
    -- keep rough surfaces slow; only the "full speed" surfaces follow the cruise speed
    if speed >= 15 then
      profile.surface_speeds[surface] = scooter_cruise_kmh
    end
  end
  return profile
end

return {
  setup = scooter_setup,
  process_way = bicycle.process_way,
  process_node = bicycle.process_node,
  process_turn = bicycle.process_turn,
}
