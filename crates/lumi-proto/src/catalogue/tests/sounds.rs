//! Gateway sound ids and names.

use crate::catalogue::{
    SOUND_NAMES, SOUND_STOP, SOUNDS, SoundGroup, SoundId, VolumeError, sound_by_id, sound_by_name,
    validate_volume,
};

#[test]
fn ids() {
    for id in (0..=8).chain(10..=13).chain(20..=29) {
        let Some(SoundId::Builtin(s)) = sound_by_id(id) else {
            panic!("{id}")
        };
        assert_eq!(s.id, id);
        let group = match id {
            0..=8 => SoundGroup::Alarm,
            10..=13 => SoundGroup::Doorbell,
            _ => SoundGroup::AlarmClock,
        };
        assert_eq!(s.group, group, "{id}");
    }
    for id in [9, 14, 15, 16, 17, 18, 19, 30, 31, 100, 9999] {
        assert_eq!(sound_by_id(id), None, "{id}");
    }
    assert_eq!(sound_by_id(10000), Some(SoundId::Stop));
    assert_eq!(sound_by_id(10001), Some(SoundId::Custom(10001)));
    assert_eq!(sound_by_id(u32::MAX), Some(SoundId::Custom(u32::MAX)));
    assert_eq!(SoundId::Stop.mid(), SOUND_STOP);
    assert_eq!(SoundId::Custom(10005).name(), None);
    assert_eq!(SOUNDS.len(), 23);
}

#[test]
fn names() {
    let id = |n: &str| sound_by_name(n).map(SoundId::mid);
    assert_eq!(id("Police car 1"), Some(0));
    assert_eq!(id("police_car_2"), Some(1));
    assert_eq!(id("POLICE-CAR-2"), Some(1));
    assert_eq!(id("Sniper rifle"), Some(5));
    assert_eq!(id("air raid"), Some(7));
    assert_eq!(id("Bark"), Some(8));
    assert_eq!(id("Knock at a door"), Some(11));
    assert_eq!(id("knock_at_a_door"), Some(11));
    assert_eq!(id("Amuse"), Some(12));
    assert_eq!(id("alarm clock"), Some(13));
    assert_eq!(id("MiMix"), Some(20));
    assert_eq!(id("GuitarClassic"), Some(22));
    assert_eq!(id("guitar classic"), Some(22));
    assert_eq!(id("IceWorldPiano"), Some(23));
    assert_eq!(id("MorningStreamLiet"), Some(26));
    assert_eq!(id("Thinker"), Some(29));
    assert_eq!(id("stop"), Some(10000));
    assert_eq!(id(" STOP "), Some(10000));
    assert_eq!(id("10005"), Some(10005));
    assert_eq!(id("0"), Some(0));
    for bad in [
        "",
        " ",
        "9",
        "15",
        "police car",
        "police car 3",
        "-1",
        "99999999999999999999",
        "_",
        "🙂",
    ] {
        assert_eq!(sound_by_name(bad), None, "{bad:?}");
    }
}

#[test]
fn slugs_and_the_name_list_agree() {
    let slugs: Vec<&str> = SOUNDS.iter().map(|s| s.slug).collect();
    assert_eq!(&SOUND_NAMES[..SOUNDS.len()], slugs.as_slice());
    assert_eq!(SOUND_NAMES.last(), Some(&"stop"));
    for s in SOUNDS {
        let expected: String = s
            .name
            .chars()
            .map(|c| {
                if c == ' ' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        assert_eq!(s.slug, expected);
        assert_eq!(sound_by_name(s.slug), Some(SoundId::Builtin(s)));
        assert_eq!(sound_by_name(s.name), Some(SoundId::Builtin(s)));
        assert_eq!(SoundId::Builtin(s).name(), Some(s.slug));
    }
}

#[test]
fn volume() {
    assert_eq!(validate_volume(0), Ok(0));
    assert_eq!(validate_volume(100), Ok(100));
    assert_eq!(
        validate_volume(101),
        Err(VolumeError::OutOfRange { value: 101 })
    );
    assert_eq!(
        validate_volume(-1),
        Err(VolumeError::OutOfRange { value: -1 })
    );
    assert_eq!(
        validate_volume(i64::MAX).unwrap_err().to_string(),
        format!("volume {} is out of range (0–100)", i64::MAX)
    );
}
