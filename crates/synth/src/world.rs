//! What all patients share: the as-of date, the knowledge-base catalogue, and the
//! organisations and practitioners their encounters point at.

use std::io;

use chrono::NaiveDate;

use crate::catalog::Catalog;
use crate::json::w;
use crate::rng::{Id, Rng};
use crate::sink::{Kind, Sinks};
use crate::tables;

pub(crate) struct Org {
    pub id: Id,
    pub name: &'static str,
    pub city: usize,
}

pub(crate) struct Prac {
    pub id: Id,
    pub npi: u64,
    pub given: &'static str,
    pub family: &'static str,
    pub suffix: u32,
    pub female: bool,
    pub org: usize,
}

pub(crate) struct World<'c, 'k> {
    pub cat: &'c Catalog<'k>,
    pub as_of: NaiveDate,
    /// The first day of the 12-month lab window ending at `as_of`.
    pub window: NaiveDate,
    pub orgs: Vec<Org>,
    pub pracs: Vec<Prac>,
}

impl<'c, 'k> World<'c, 'k> {
    pub(crate) fn new(cat: &'c Catalog<'k>, as_of: NaiveDate, seed: u64) -> World<'c, 'k> {
        let mut rng = Rng::new(seed, u64::MAX);
        let orgs: Vec<Org> = tables::ORG_NAMES
            .iter()
            .map(|name| Org { id: rng.uuid(), name, city: rng.index(tables::CITIES.len()) })
            .collect();
        let pracs = (0..48)
            .map(|i| {
                let female = rng.chance(0.5);
                Prac {
                    id: rng.uuid(),
                    npi: 9_999_900_000 + rng.below(99_999),
                    given: rng.pick_copy(if female { tables::GIVEN_F } else { tables::GIVEN_M }),
                    family: rng.pick_copy(tables::FAMILY),
                    suffix: rng.range(10, 999) as u32,
                    female,
                    org: i % tables::ORG_NAMES.len(),
                }
            })
            .collect();
        World { cat, as_of, window: restless_facts::months_before(as_of, 12), orgs, pracs }
    }

    /// Writes the Organization and Practitioner files.
    pub(crate) fn write_directory(&self, sinks: &mut Sinks, buf: &mut String) -> io::Result<()> {
        for o in &self.orgs {
            let (city, zip) = tables::CITIES[o.city];
            buf.clear();
            w!(
                buf,
                r#"{{"resourceType":"Organization","id":"{id}","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"]}},"identifier":[{{"system":"https://github.com/synthetichealth/synthea","value":"{id}"}}],"active":true,"type":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"prov","display":"Healthcare Provider"}}],"text":"Healthcare Provider"}}],"name":"{name}","telecom":[{{"system":"phone","value":"508-555-{tel:04}"}}],"address":[{{"line":["{num} {street}"],"city":"{city}","state":"MA","postalCode":"{zip}","country":"US"}}]}}"#,
                id = o.id.as_str(),
                name = o.name,
                tel = o.city * 37 % 10_000,
                num = 10 + o.city * 7,
                street = tables::STREETS[o.city % tables::STREETS.len()],
            );
            sinks.write(Kind::Organization, buf)?;
        }
        for p in &self.pracs {
            let o = &self.orgs[p.org];
            let (city, zip) = tables::CITIES[o.city];
            buf.clear();
            w!(
                buf,
                r#"{{"resourceType":"Practitioner","id":"{id}","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"]}},"identifier":[{{"system":"http://hl7.org/fhir/sid/us-npi","value":"{npi}"}}],"active":true,"name":[{{"family":"{family}{s}","given":["{given}{g}"],"prefix":["Dr."]}}],"telecom":[{{"extension":[{{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-direct","valueBoolean":true}}],"system":"email","value":"{given}.{family}@example.com","use":"work"}}],"address":[{{"line":["{num} {street}"],"city":"{city}","state":"MA","postalCode":"{zip}","country":"US"}}],"gender":"{gender}"}}"#,
                id = p.id.as_str(),
                npi = p.npi,
                family = p.family,
                s = p.suffix,
                given = p.given,
                g = p.suffix * 3 % 1000,
                num = 100 + p.suffix,
                street = tables::STREETS[p.suffix as usize % tables::STREETS.len()],
                gender = if p.female { "female" } else { "male" },
            );
            sinks.write(Kind::Practitioner, buf)?;
        }
        Ok(())
    }
}
