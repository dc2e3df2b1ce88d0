//! The closed catalogue of questionnaire answers the engine understands.
//!
//! Answers are person-reported facts that no code system carries well (the five diagnostic
//! questions, the mimic screen, lifestyle). Their names are stable: knowledge-base rules refer to
//! them as `answer.<name>`.

/// What kind of value an answer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// Yes or no.
    YesNo,
    /// A number in the given unit (for example `cups/d`).
    Number(&'static str),
}

macro_rules! answers {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : $kind:expr, $question:literal; )*) => {
        /// A questionnaire answer the engine understands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Answer {
            $( $(#[$doc])* $variant, )*
        }

        impl Answer {
            /// Every answer, in catalogue order.
            pub const ALL: &'static [Answer] = &[$(Answer::$variant,)*];

            /// The stable name used after `answer.` in rules.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Answer::$variant => $name,)* }
            }

            /// The kind of value the answer holds.
            #[must_use]
            pub fn kind(self) -> AnswerKind {
                match self { $(Answer::$variant => $kind,)* }
            }

            /// The question to ask a person when this answer is missing.
            #[must_use]
            pub fn question(self) -> &'static str {
                match self { $(Answer::$variant => $question,)* }
            }

            /// Looks an answer up by its stable name.
            #[must_use]
            pub fn from_name(name: &str) -> Option<Answer> {
                match name { $($name => Some(Answer::$variant),)* _ => None }
            }
        }
    };
}

use AnswerKind::{Number, YesNo};

answers! {
    /// IRLSSG criterion 1: an urge to move the legs.
    Urge = "urge": YesNo, "Do you feel an urge to move your legs, often with unpleasant feelings in them?";
    /// IRLSSG criterion 2: begins or worsens at rest.
    RestWorse = "rest-worse": YesNo, "Does the urge start or get worse while you sit or lie still?";
    /// IRLSSG criterion 3: relieved by movement while moving.
    MovementRelief = "movement-relief": YesNo, "Does walking or stretching ease it, at least while you keep moving?";
    /// IRLSSG criterion 4: worse in the evening or at night.
    EveningWorse = "evening-worse": YesNo, "Is it only present, or clearly worse, in the evening or at night?";
    /// IRLSSG criterion 5 as the person sees it: explained by another condition.
    ExplainedByOther = "explained-by-other": YesNo, "Has a clinician told you these feelings are fully explained by another condition (cramps, arthritis, swelling, vein problems)?";
    /// How many days a week symptoms occur.
    FrequencyPerWeek = "frequency-per-week": Number("d/wk"), "On how many days a week do the symptoms come?";
    /// A parent, sibling or child has restless legs.
    FamilyHistory = "family-history": YesNo, "Does a parent, brother, sister or child have restless legs?";
    /// Currently pregnant.
    Pregnant = "pregnant": YesNo, "Are you pregnant?";
    /// Gave birth within the last few weeks.
    Postpartum = "postpartum": YesNo, "Have you given birth in the last three months?";
    /// Number of past pregnancies.
    Pregnancies = "pregnancies": Number("1"), "How many times have you been pregnant?";
    /// Smokes tobacco now.
    SmokingCurrent = "smoking-current": YesNo, "Do you smoke tobacco now?";
    /// Alcoholic drinks in a typical week.
    AlcoholPerWeek = "alcohol-drinks-per-week": Number("/wk"), "How many alcoholic drinks do you have in a typical week?";
    /// Drinks alcohol in the evening.
    AlcoholEvening = "alcohol-evening": YesNo, "Do you drink alcohol in the evening?";
    /// Caffeinated drinks a day.
    CaffeinePerDay = "caffeine-cups-per-day": Number("/d"), "How many cups of coffee, tea, cola or energy drinks do you have a day?";
    /// Usual hours of sleep a night.
    SleepHours = "sleep-hours": Number("h"), "How many hours do you usually sleep a night?";
    /// Works night or rotating shifts.
    ShiftWork = "shift-work": YesNo, "Do you work night or rotating shifts?";
    /// Under a lot of stress lately.
    Stress = "stress": YesNo, "Have you been under a lot of stress lately?";
    /// Feels tired most days.
    Fatigue = "fatigue": YesNo, "Do you feel tired or worn out most days?";
    /// Low mood or anxiety most days.
    LowMoodOrAnxiety = "low-mood-or-anxiety": YesNo, "Have you felt low, down or anxious most days in the last two weeks?";
    /// Days a week with at least 30 minutes of exercise.
    ExerciseDaysPerWeek = "exercise-days-per-week": Number("d/wk"), "On how many days a week do you exercise for 30 minutes or more?";
    /// Symptoms come on during long sitting (travel, cinema).
    LongImmobility = "long-immobility": YesNo, "Do long car rides, flights or sitting through films bring the symptoms on?";
    /// Loud snoring, witnessed pauses in breathing, or daytime sleepiness.
    ApnoeaSigns = "apnoea-signs": YesNo, "Do you snore loudly, stop breathing in sleep (as others notice), or doze off in the day?";
    /// Uses CPAP or another treatment for sleep apnoea.
    ApnoeaTreated = "apnoea-treated": YesNo, "Is sleep apnoea, if you have it, treated (for example with CPAP)?";
    /// An opioid painkiller (or tramadol) was recently stopped or reduced.
    OpioidReduced = "opioid-recently-reduced": YesNo, "Has an opioid painkiller or tramadol been stopped or reduced in the last weeks?";
    /// On a dopamine drug, symptoms start earlier, spread, or need higher doses.
    AugmentationSigns = "augmentation-signs": YesNo, "Since taking a dopamine medicine for restless legs, do symptoms start earlier in the day, spread to the arms, or need higher doses?";
    /// Heavy periods, blood in stool, frequent blood donation, weight-loss surgery or coeliac disease.
    IronLossSigns = "iron-loss-signs": YesNo, "Do you have heavy periods, black or bloody stools, give blood often, or have had weight-loss surgery?";
    /// Mimic: sudden painful hardening of a calf or foot muscle.
    Cramps = "mimic-cramps": YesNo, "Do you get sudden, painful tightening of a calf or foot muscle that you can feel as a hard knot?";
    /// Mimic: one change of position is enough to ease it.
    SinglePositionRelief = "mimic-single-position-relief": YesNo, "Does shifting position once make it go away, without needing to keep moving?";
    /// Mimic: leg pain brought on by walking and eased by rest.
    PainOnWalking = "mimic-pain-on-walking": YesNo, "Do your legs hurt when you walk and get better when you stop?";
    /// Mimic: swollen legs or ankles.
    LegSwelling = "mimic-leg-swelling": YesNo, "Are your legs or ankles swollen?";
    /// Mimic: heavy aching legs that ease when raised.
    ElevationRelief = "mimic-elevation-relief": YesNo, "Do your legs feel heavy or aching after standing, and better when you raise them?";
    /// Mimic: pain in the joints.
    JointPain = "mimic-joint-pain": YesNo, "Is the discomfort in your joints, worse when you use them?";
    /// Mimic: aching, tender muscles at any time of day.
    MusclePain = "mimic-muscle-pain": YesNo, "Are your leg muscles sore or tender at any time of day?";
    /// Mimic: habitual foot tapping without discomfort.
    FootTapping = "mimic-foot-tapping": YesNo, "Do you tap or jiggle your feet out of habit, without any discomfort or urge?";
    /// Mimic: restlessness of the whole body rather than the legs.
    WholeBodyRestlessness = "mimic-whole-body-restlessness": YesNo, "Is the restlessness in your whole body rather than in your legs?";
    /// Mimic: only while standing, relieved by walking or sitting.
    OnlyStanding = "mimic-only-standing": YesNo, "Does it happen only while you stand still, and go when you walk or sit?";
    /// Mimic: restless when sitting, gone when lying, with dizziness on standing.
    SittingDizzy = "mimic-sitting-not-lying": YesNo, "Are you restless only when sitting (not lying down), and dizzy when you stand up?";
    /// Mimic: numbness, burning or pins and needles not eased by moving.
    NumbBurning = "mimic-numbness-burning": YesNo, "Do you have numbness, burning or pins and needles that moving does not ease?";
    /// Mimic: pain shooting from the back down one leg.
    RadiatingBackPain = "mimic-radiating-back-pain": YesNo, "Does pain shoot from your back down one leg?";
    /// Mimic: constant toe or foot writhing movements.
    ToeMovements = "mimic-toe-movements": YesNo, "Do your toes or feet make constant writhing movements you cannot stop?";
    /// Mimic: limb jerks in sleep the person is unaware of, with no urge while awake.
    SleepMovementsOnly = "mimic-sleep-movements-only": YesNo, "Does a bed partner notice jerking legs in your sleep, while you feel no urge when awake?";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for a in Answer::ALL {
            assert_eq!(Answer::from_name(a.name()), Some(*a));
            assert!(seen.insert(a.name()), "duplicate answer name {}", a.name());
            assert!(a.question().ends_with('?'));
        }
        assert_eq!(Answer::from_name("nope"), None);
    }
}
