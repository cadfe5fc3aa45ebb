//! Gateway sounds: the built-in ringtones played by writing `mid` (and `vol`) to a gateway.
//!
//! Ids (lan-api §7, Home Assistant's table): alarms 0–8, doorbells 10–13, alarm clock 20–29;
//! `10000` stops playing; `10001` and up are sounds the user uploaded. 9 and 14–19 are not
//! sounds (Home Assistant refuses them), nor is 30–9999.

use serde::Serialize;

/// The group of a built-in sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SoundGroup {
    /// Alarms, ids 0–8.
    Alarm,
    /// Doorbells, ids 10–13.
    Doorbell,
    /// Alarm-clock tunes, ids 20–29.
    AlarmClock,
}

/// A built-in gateway sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Sound {
    /// Its `mid`.
    pub id: u32,
    /// Its name as Home Assistant's documentation gives it (`"Police car 1"`).
    pub name: &'static str,
    /// Its name in lumi's vocabulary (`"police_car_1"`): lowercase, words joined by `_`.
    pub slug: &'static str,
    /// Its group.
    pub group: SoundGroup,
}

const fn s(id: u32, name: &'static str, slug: &'static str, group: SoundGroup) -> Sound {
    Sound {
        id,
        name,
        slug,
        group,
    }
}

/// Every built-in sound, by id.
pub const SOUNDS: &[Sound] = &[
    s(0, "Police car 1", "police_car_1", SoundGroup::Alarm),
    s(1, "Police car 2", "police_car_2", SoundGroup::Alarm),
    s(2, "Accident", "accident", SoundGroup::Alarm),
    s(3, "Countdown", "countdown", SoundGroup::Alarm),
    s(4, "Ghost", "ghost", SoundGroup::Alarm),
    s(5, "Sniper rifle", "sniper_rifle", SoundGroup::Alarm),
    s(6, "Battle", "battle", SoundGroup::Alarm),
    s(7, "Air raid", "air_raid", SoundGroup::Alarm),
    s(8, "Bark", "bark", SoundGroup::Alarm),
    s(10, "Doorbell", "doorbell", SoundGroup::Doorbell),
    s(
        11,
        "Knock at a door",
        "knock_at_a_door",
        SoundGroup::Doorbell,
    ),
    s(12, "Amuse", "amuse", SoundGroup::Doorbell),
    s(13, "Alarm clock", "alarm_clock", SoundGroup::Doorbell),
    s(20, "MiMix", "mimix", SoundGroup::AlarmClock),
    s(21, "Enthusiastic", "enthusiastic", SoundGroup::AlarmClock),
    s(22, "GuitarClassic", "guitarclassic", SoundGroup::AlarmClock),
    s(23, "IceWorldPiano", "iceworldpiano", SoundGroup::AlarmClock),
    s(24, "LeisureTime", "leisuretime", SoundGroup::AlarmClock),
    s(25, "ChildHood", "childhood", SoundGroup::AlarmClock),
    s(
        26,
        "MorningStreamLiet",
        "morningstreamliet",
        SoundGroup::AlarmClock,
    ),
    s(27, "MusicBox", "musicbox", SoundGroup::AlarmClock),
    s(28, "Orange", "orange", SoundGroup::AlarmClock),
    s(29, "Thinker", "thinker", SoundGroup::AlarmClock),
];

/// The slugs of [`SOUNDS`] followed by `"stop"`: the allowed texts of the `sound` property.
pub const SOUND_NAMES: &[&str] = &[
    "police_car_1",
    "police_car_2",
    "accident",
    "countdown",
    "ghost",
    "sniper_rifle",
    "battle",
    "air_raid",
    "bark",
    "doorbell",
    "knock_at_a_door",
    "amuse",
    "alarm_clock",
    "mimix",
    "enthusiastic",
    "guitarclassic",
    "iceworldpiano",
    "leisuretime",
    "childhood",
    "morningstreamliet",
    "musicbox",
    "orange",
    "thinker",
    STOP_NAME,
];

/// The `mid` that stops the sound playing.
pub const SOUND_STOP: u32 = 10000;
/// The first `mid` of a user-uploaded sound.
pub const CUSTOM_SOUND_MIN: u32 = 10001;
/// The name of [`SOUND_STOP`].
pub const STOP_NAME: &str = "stop";
/// The highest volume (`vol` is a percentage).
pub const MAX_VOLUME: u8 = 100;

/// What a `mid` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SoundId {
    /// A built-in sound.
    Builtin(&'static Sound),
    /// Stop playing (10000).
    Stop,
    /// A user-uploaded sound (≥ 10001).
    Custom(u32),
}

impl SoundId {
    /// The `mid` to write.
    pub fn mid(self) -> u32 {
        match self {
            SoundId::Builtin(s) => s.id,
            SoundId::Stop => SOUND_STOP,
            SoundId::Custom(id) => id,
        }
    }

    /// The name in lumi's vocabulary: the slug, `stop`, or `None` for a custom sound.
    pub fn name(self) -> Option<&'static str> {
        match self {
            SoundId::Builtin(s) => Some(s.slug),
            SoundId::Stop => Some(STOP_NAME),
            SoundId::Custom(_) => None,
        }
    }
}

/// The sound of a `mid`; `None` for ids that are no sound (9, 14–19, 30–9999).
pub fn sound_by_id(id: u32) -> Option<SoundId> {
    match id {
        SOUND_STOP => Some(SoundId::Stop),
        CUSTOM_SOUND_MIN.. => Some(SoundId::Custom(id)),
        _ => SOUNDS.iter().find(|s| s.id == id).map(SoundId::Builtin),
    }
}

/// The sound of a name: case-insensitive, with spaces, `-` and `_` alike (`"Police car 1"`,
/// `"police-car-1"`, `"POLICE_CAR_1"`), also the run-together form (`"Guitar Classic"` =
/// `GuitarClassic`), `"stop"`, or a number (`"10005"`).
pub fn sound_by_name(name: &str) -> Option<SoundId> {
    let name = name.trim();
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return name.parse::<u32>().ok().and_then(sound_by_id);
    }
    let key = squash(name);
    if key.is_empty() {
        return None;
    }
    if key == STOP_NAME {
        return Some(SoundId::Stop);
    }
    SOUNDS
        .iter()
        .find(|s| squash(s.slug) == key)
        .map(SoundId::Builtin)
}

/// Lowercase letters and digits only: `"Knock at a door"` → `"knockatadoor"`.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Why a volume is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VolumeError {
    /// Outside 0–100.
    #[error("volume {value} is out of range (0–100)")]
    OutOfRange {
        /// The value given.
        value: i64,
    },
}

/// Checks a volume (0–100 %).
pub fn validate_volume(value: i64) -> Result<u8, VolumeError> {
    u8::try_from(value)
        .ok()
        .filter(|v| *v <= MAX_VOLUME)
        .ok_or(VolumeError::OutOfRange { value })
}
