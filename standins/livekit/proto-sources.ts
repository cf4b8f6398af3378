// The proto files proto-schema.json is built from, in order, relative to the repository root.
// scripts/livekit-proto-schema.ts reads them from disk; the test that checks the schema is
// current imports the same files as text.
export const PROTO_SOURCES = [
  "spec/livekit/livekit_agent_dispatch.proto",
  "spec/livekit/livekit_room.proto",
  "spec/livekit/livekit_sip.proto",
  "spec/livekit/livekit_phone_number.proto",
  "standins/livekit/models-supplement.proto",
] as const;
