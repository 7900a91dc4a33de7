-- NQO1 CDS: tells the service that a study with a CT series is complete in this Orthanc, so that its
-- analysis starts before any EHR hook requests it.
--
-- Orthanc calls OnStableStudy once no instance of the study has arrived for "StableAge" seconds
-- (60 by default). The script posts { "studyInstanceUid": "<UID>" } to the service's
-- POST /pacs/studies route with the shared secret as a bearer token.
--
-- Orthanc configuration (orthanc.json):
--   "LuaScripts": [ "/etc/orthanc/on-stable-study.lua" ],
--   "Nqo1Notifications": {
--     "Url": "https://nqo1.hospital.example/pacs/studies",
--     "Token": "${NQO1_PACS_NOTIFY_TOKEN}"
--   }
-- Orthanc replaces ${NQO1_PACS_NOTIFY_TOKEN} with that environment variable of the Orthanc
-- process, so the secret stays out of the file. The service reads the same secret from the
-- variable that its notifications.tokenEnv setting names. The request uses Orthanc's HTTP client
-- timeout ("HttpTimeout", 60 s by default); the Lua event loop waits meanwhile, so keep the
-- service reachable or the timeout short.

local function notificationSettings()
  local settings = GetOrthancConfiguration()['Nqo1Notifications']
  if settings == nil or settings['Url'] == nil or settings['Token'] == nil then
    return nil
  end
  return settings
end

-- True when one series of the Orthanc study has the modality CT.
local function hasCtSeries(studyId)
  local series = ParseJson(RestApiGet('/studies/' .. studyId .. '/series'))
  for _, item in ipairs(series) do
    if item['MainDicomTags']['Modality'] == 'CT' then
      return true
    end
  end
  return false
end

function OnStableStudy(studyId, tags, metadata)
  local settings = notificationSettings()
  if settings == nil then
    print('NQO1 notification not sent: set Nqo1Notifications.Url and .Token in the Orthanc configuration')
    return
  end

  local studyInstanceUid = tags['StudyInstanceUID']
  if studyInstanceUid == nil or not hasCtSeries(studyId) then
    return
  end

  local headers = {
    ['Content-Type'] = 'application/json',
    ['Authorization'] = 'Bearer ' .. settings['Token'],
  }
  local answer = HttpPost(settings['Url'], DumpJson({ studyInstanceUid = studyInstanceUid }, true), headers)
  if answer == nil then
    print('NQO1 notification failed for study ' .. studyInstanceUid .. '; the service poller or a hook will start it')
  end
end
