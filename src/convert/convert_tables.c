/*
 * convert_tables.c — our HL7 v2 -> FHIR R4 mapping tables (data only).
 *
 * Written by us from the HL7 v2-to-FHIR IG mapping spreadsheets (message,
 * segment, data type and vocabulary maps; see docs/internals/convert.md for
 * the row format and where we deviate). The engine in convert.c interprets
 * these rows; adding a field mapping is one row, adding a message is one
 * role list and one cv_msgmaps entry.
 *
 * Conventions:
 *   - a path "a[]" appends one element per repetition of the field; "a[0]"
 *     reuses the first element (or creates it); "value[x]" merges the
 *     converter's members into the resource (OBX-5);
 *   - a row with dt DT_USED (path NULL) marks a field the engine or another
 *     converter reads (set IDs, keys, OBX-2, OBX-6 units); it counts as mapped;
 *   - a field with no row for any of the segment's roles in the message is
 *     reported as unmapped, never dropped silently.
 */
#include "convert/convert_int.h"

#define N(x) (sizeof(x) / sizeof((x)[0]))

const struct cv_res_info cv_res_info[R_COUNT] = {
    [R_NONE] = {"", 0},
    [R_MESSAGEHEADER] = {"MessageHeader", 0},
    [R_PROVENANCE] = {"Provenance", 0},
    [R_PATIENT] = {"Patient", 1},
    [R_RELATEDPERSON] = {"RelatedPerson", 3},
    [R_ENCOUNTER] = {"Encounter", 2},
    [R_ALLERGY] = {"AllergyIntolerance", 3},
    [R_CONDITION] = {"Condition", 3},
    [R_PROCEDURE] = {"Procedure", 3},
    [R_COVERAGE] = {"Coverage", 3},
    [R_SERVICEREQUEST] = {"ServiceRequest", 3},
    [R_DIAGNOSTICREPORT] = {"DiagnosticReport", 4},
    [R_OBSERVATION] = {"Observation", 5},
    [R_SPECIMEN] = {"Specimen", 5},
    [R_IMMUNIZATION] = {"Immunization", 3},
    [R_MEDREQUEST] = {"MedicationRequest", 3},
    [R_MEDADMIN] = {"MedicationAdministration", 3},
    [R_APPOINTMENT] = {"Appointment", 1}, /* SIU: SCH comes before PID */
    [R_DOCREF] = {"DocumentReference", 3},
    [R_CHARGEITEM] = {"ChargeItem", 3},
    [R_PRACTITIONER] = {"Practitioner", 0},
    [R_ORGANIZATION] = {"Organization", 0},
    [R_LOCATION] = {"Location", 0},
};

/* ---- roles ---- */

#define ROLE(s, r, h, k) {s, r, h, k, {0, 0}}
#define ROLEF(s, r, h, f1, f2) {s, r, h, K_PATFIELD, {f1, f2}}

/* Used for every message, unless its map gives roles for the segment ID. */
const struct cv_role cv_default_roles[] = {
    ROLE("MSH", R_MESSAGEHEADER, H_NEW, K_MESSAGE),
    ROLE("MSH", R_PROVENANCE, H_NEW, K_MESSAGE),
    ROLE("EVN", R_PROVENANCE, H_MERGE_ANY, K_MESSAGE),
    ROLE("PID", R_PATIENT, H_NEW, K_PATIENT),
    ROLE("PD1", R_PATIENT, H_MERGE, K_PATIENT),
    ROLEF("NK1", R_RELATEDPERSON, H_NEW, 2, 3),
    ROLE("PV1", R_ENCOUNTER, H_NEW, K_VISIT),
    ROLE("PV2", R_ENCOUNTER, H_MERGE, K_VISIT),
    ROLEF("AL1", R_ALLERGY, H_NEW, 3, 0),
    ROLEF("IAM", R_ALLERGY, H_NEW, 7, 3),
    ROLEF("DG1", R_CONDITION, H_NEW, 3, 20),
    ROLEF("PR1", R_PROCEDURE, H_NEW, 3, 5),
    ROLEF("IN1", R_COVERAGE, H_NEW, 2, 36),
    ROLEF("GT1", R_RELATEDPERSON, H_NEW, 2, 3),
    ROLE("ORC", R_SERVICEREQUEST, H_NEW, K_ORDER),
    ROLE("OBR", R_SERVICEREQUEST, H_MERGE, K_ORDER),
    ROLE("TQ1", R_SERVICEREQUEST, H_MERGE_ANY, K_ORDER),
    ROLE("OBX", R_OBSERVATION, H_NEW, K_OBX),
    ROLE("SPM", R_SPECIMEN, H_NEW, K_SPM),
    ROLE("NTE", R_NONE, H_ATTACH, K_MESSAGE),
    ROLE("MRG", R_PATIENT, H_SIDE, K_MRG),
};
const size_t cv_ndefault_roles = N(cv_default_roles);

/* ORU^R01: OBR makes the DiagnosticReport and completes the order. */
static const struct cv_role roles_oru[] = {
    ROLE("ORC", R_SERVICEREQUEST, H_NEW, K_ORDER),
    ROLE("ORC", R_DIAGNOSTICREPORT, H_NEW, K_ORDER),
    ROLE("OBR", R_SERVICEREQUEST, H_MERGE, K_ORDER),
    ROLE("OBR", R_DIAGNOSTICREPORT, H_MERGE, K_ORDER),
    ROLE("OBR", R_SPECIMEN, H_NEW, K_ORDER),
};

/* OML^O21: OBR also describes the specimen (OML_O21 map: OBR[Specimen]). */
static const struct cv_role roles_oml[] = {
    ROLE("ORC", R_SERVICEREQUEST, H_NEW, K_ORDER),
    ROLE("OBR", R_SERVICEREQUEST, H_MERGE, K_ORDER),
    ROLE("OBR", R_SPECIMEN, H_NEW, K_ORDER),
};

/* VXU^V04: the order is an Immunization. */
static const struct cv_role roles_vxu[] = {
    ROLE("ORC", R_IMMUNIZATION, H_NEW, K_ORDER),
    ROLE("RXA", R_IMMUNIZATION, H_MERGE, K_ORDER),
    ROLE("RXR", R_IMMUNIZATION, H_MERGE_ANY, K_ORDER),
};

/* RDE^O11 (and RXO/RXE/RXR/TQ1 of pharmacy orders): a MedicationRequest. */
static const struct cv_role roles_rde[] = {
    ROLE("ORC", R_MEDREQUEST, H_NEW, K_ORDER),
    ROLE("RXO", R_MEDREQUEST, H_MERGE, K_ORDER),
    ROLE("RXE", R_MEDREQUEST, H_MERGE, K_ORDER),
    ROLE("RXR", R_MEDREQUEST, H_MERGE_ANY, K_ORDER),
    ROLE("TQ1", R_MEDREQUEST, H_MERGE_ANY, K_ORDER),
};

/* RAS^O17: a MedicationAdministration per order. */
static const struct cv_role roles_ras[] = {
    ROLE("ORC", R_MEDADMIN, H_NEW, K_ORDER),
    ROLE("RXA", R_MEDADMIN, H_MERGE, K_ORDER),
    ROLE("RXR", R_MEDADMIN, H_MERGE_ANY, K_ORDER),
};

/* SIU^S12-S15: an Appointment with its resources. */
static const struct cv_role roles_siu[] = {
    ROLE("SCH", R_APPOINTMENT, H_NEW, K_SCH),
    ROLE("AIS", R_APPOINTMENT, H_MERGE_ANY, K_SCH),
    ROLE("AIG", R_APPOINTMENT, H_MERGE_ANY, K_SCH),
    ROLE("AIL", R_APPOINTMENT, H_MERGE_ANY, K_SCH),
    ROLE("AIP", R_APPOINTMENT, H_MERGE_ANY, K_SCH),
    ROLE("RGS", R_APPOINTMENT, H_MERGE_ANY, K_SCH),
};

/* MDM^T02: a DocumentReference whose content is the OBX text. */
static const struct cv_role roles_mdm[] = {
    ROLE("TXA", R_DOCREF, H_NEW, K_TXA),
    ROLE("OBX", R_DOCREF, H_MERGE_ANY, K_TXA),
};

/* DFT^P03: one ChargeItem per FT1. */
static const struct cv_role roles_dft[] = {
    ROLEF("FT1", R_CHARGEITEM, H_NEW, 2, 4),
};

static const struct cv_role roles_none[1] = {ROLE("", R_NONE, H_NEW, K_MESSAGE)};

#define MSG(t, e, r, f) {t, e, r, N(r), NULL, f}
#define MSG0(t, e, f) {t, e, roles_none, 0, NULL, f}

const struct cv_msgmap cv_msgmaps[] = {
    MSG0("ADT", "A01 A02 A03 A04 A05 A06 A07 A08 A11 A12 A13 A28 A31", CV_MSG_NEEDS_PID),
    MSG0("ADT", "A40", CV_MSG_NEEDS_PID | CV_MSG_MERGE),
    MSG("ORU", "R01", roles_oru, 0),
    MSG0("ORM", "O01", 0),
    MSG("OML", "O21", roles_oml, 0),
    MSG("VXU", "V04", roles_vxu, CV_MSG_NEEDS_PID),
    MSG("RDE", "O11", roles_rde, 0),
    MSG("RAS", "O17", roles_ras, 0),
    MSG("SIU", "S12 S13 S14 S15", roles_siu, 0),
    MSG("MDM", "T02", roles_mdm, CV_MSG_NEEDS_PID),
    MSG("DFT", "P03", roles_dft, CV_MSG_NEEDS_PID),
};
const size_t cv_nmsgmaps = N(cv_msgmaps);

/* Event-driven values (HL7 v2.5.1 chapter 3 trigger events; ADT_A11 map). */
const struct cv_event_value cv_event_values[] = {
    {"ADT", "A01 A02 A06 A07 A12 A13", R_ENCOUNTER, "status", "in-progress"},
    {"ADT", "A03", R_ENCOUNTER, "status", "finished"},
    {"ADT", "A04", R_ENCOUNTER, "status", "arrived"},
    {"ADT", "A05", R_ENCOUNTER, "status", "planned"},
    {"ADT", "A11", R_ENCOUNTER, "status", "cancelled"},
    {"SIU", "S15", R_APPOINTMENT, "status", "cancelled"},
};
const size_t cv_nevent_values = N(cv_event_values);

/* ---- segment maps ---- */

#define F(s, f, r, d, p, a) {s, f, r, d, 0, p, a}
#define FX(s, f, r, d, fl, p, a) {s, f, r, d, fl, p, a}
#define U(s, f, r) {s, f, r, DT_USED, 0, NULL, NULL}

#define V2 "http://terminology.hl7.org/CodeSystem/"
#define EXT "http://hl7.org/fhir/StructureDefinition/"
#define USCORE "http://hl7.org/fhir/us/core/StructureDefinition/"

/* Rows of an ORC for an order resource (ServiceRequest, Immunization, ...). */
#define ORC_COMMON(R, STATUS)                                                                      \
    F("ORC", 1, R, DT_CODE, "status", "0119" STATUS),                                              \
    F("ORC", 2, R, DT_EI_TYPED, "identifier[]", "PLAC"),                                           \
    F("ORC", 3, R, DT_EI_TYPED, "identifier[]", "FILL"),                                           \
    F("ORC", 5, R, DT_CODE, "status", "0038" STATUS)

const struct cv_field cv_fields[] = {
    /* MSH[MessageHeader], MSH[Provenance] */
    U("MSH", 1, R_MESSAGEHEADER),
    U("MSH", 2, R_MESSAGEHEADER),
    F("MSH", 3, R_MESSAGEHEADER, DT_STRING, "source.name", NULL),
    F("MSH", 3, R_MESSAGEHEADER, DT_HD_URI, "source.endpoint", NULL),
    F("MSH", 4, R_MESSAGEHEADER, DT_HD_ORG_REF, "sender", NULL),
    F("MSH", 5, R_MESSAGEHEADER, DT_STRING, "destination[0].name", NULL),
    F("MSH", 5, R_MESSAGEHEADER, DT_HD_URI, "destination[0].endpoint", NULL),
    F("MSH", 6, R_MESSAGEHEADER, DT_HD_ORG_REF, "destination[0].receiver", NULL),
    F("MSH", 7, R_PROVENANCE, DT_INSTANT, "recorded", NULL),
    F("MSH", 9, R_MESSAGEHEADER, DT_MSG_EVENT, "eventCoding", NULL),
    U("MSH", 10, R_MESSAGEHEADER), /* ids, Bundle.identifier, Provenance.entity */
    F("MSH", 11, R_MESSAGEHEADER, DT_VOCAB_CODING, "meta.tag[]", "0103"),
    U("MSH", 12, R_MESSAGEHEADER), /* selects the dictionary version */
    U("MSH", 15, R_MESSAGEHEADER), /* acknowledgment protocol (pipeline) */
    U("MSH", 16, R_MESSAGEHEADER),
    U("MSH", 18, R_MESSAGEHEADER), /* character set (decoding) */
    F("MSH", 19, R_MESSAGEHEADER, DT_STRING, "language", NULL),
    F("MSH", 22, R_MESSAGEHEADER, DT_XON_REF, "responsible", NULL),

    /* EVN[Provenance] */
    F("EVN", 1, R_PROVENANCE, DT_CWE, "activity", "0003"),
    F("EVN", 2, R_PROVENANCE, DT_INSTANT, "recorded", NULL),
    F("EVN", 4, R_PROVENANCE, DT_CWE, "reason[]", "0062"),
    F("EVN", 5, R_PROVENANCE, DT_XCN_REF, "agent[].who", NULL),
    F("EVN", 6, R_PROVENANCE, DT_DATETIME, "occurredDateTime", NULL),

    /* PID[Patient] */
    U("PID", 1, R_PATIENT),
    F("PID", 2, R_PATIENT, DT_CX, "identifier[]", NULL),
    F("PID", 3, R_PATIENT, DT_CX, "identifier[]", NULL),
    F("PID", 4, R_PATIENT, DT_CX, "identifier[]", NULL),
    F("PID", 5, R_PATIENT, DT_XPN, "name[]", NULL),
    FX("PID", 6, R_PATIENT, DT_STRING, CV_F_EXT, "|valueString", EXT "patient-mothersMaidenName"),
    F("PID", 7, R_PATIENT, DT_DATE, "birthDate", NULL),
    FX("PID", 7, R_PATIENT, DT_BIRTHTIME, CV_F_EXT, "_birthDate|valueDateTime", EXT "patient-birthTime"),
    F("PID", 8, R_PATIENT, DT_CODE, "gender", "0001"),
    F("PID", 9, R_PATIENT, DT_XPN, "name[]", NULL),
    F("PID", 10, R_PATIENT, DT_USCORE, "extension[]", USCORE "us-core-race"),
    F("PID", 11, R_PATIENT, DT_XAD, "address[]", NULL),
    FX("PID", 12, R_PATIENT, DT_STRING, CV_F_IFABSENT, "address[0].district", NULL),
    F("PID", 13, R_PATIENT, DT_XTN, "telecom[]", "home"),
    F("PID", 14, R_PATIENT, DT_XTN, "telecom[]", "work"),
    F("PID", 15, R_PATIENT, DT_CWE, "communication[].language", NULL),
    F("PID", 16, R_PATIENT, DT_CWE, "maritalStatus", "0002"),
    FX("PID", 17, R_PATIENT, DT_CWE, CV_F_EXT, "|valueCodeableConcept", EXT "patient-religion"),
    F("PID", 18, R_PATIENT, DT_CX, "identifier[]", NULL),
    F("PID", 19, R_PATIENT, DT_ID_TYPED, "identifier[]", "SS"),
    F("PID", 20, R_PATIENT, DT_DLN, "identifier[]", NULL),
    F("PID", 22, R_PATIENT, DT_USCORE, "extension[]", USCORE "us-core-ethnicity"),
    FX("PID", 23, R_PATIENT, DT_STRING, CV_F_EXT, "|valueAddress.text", EXT "patient-birthPlace"),
    FX("PID", 24, R_PATIENT, DT_BOOL, CV_F_UNLESS, "multipleBirthBoolean", "25"),
    F("PID", 25, R_PATIENT, DT_INT, "multipleBirthInteger", NULL),
    FX("PID", 26, R_PATIENT, DT_CWE, CV_F_EXT, "|extension:code.valueCodeableConcept", EXT "patient-citizenship"),
    FX("PID", 28, R_PATIENT, DT_CWE, CV_F_EXT, "|extension:code.valueCodeableConcept", EXT "patient-nationality"),
    /* tribal citizenship: the same extension, a table 0171 code (IG PID[Patient]) */
    FX("PID", 39, R_PATIENT, DT_CWE, CV_F_EXT, "|extension:code.valueCodeableConcept", EXT "patient-citizenship"),
    F("PID", 29, R_PATIENT, DT_DATETIME, "deceasedDateTime", NULL),
    FX("PID", 30, R_PATIENT, DT_BOOL, CV_F_UNLESS, "deceasedBoolean", "29"),

    /* PD1[Patient] */
    F("PD1", 3, R_PATIENT, DT_XON_REF, "generalPractitioner[]", NULL),
    F("PD1", 4, R_PATIENT, DT_XCN_REF, "generalPractitioner[]", NULL),

    /* MRG: the prior patient of a merge (A40) */
    F("MRG", 1, R_PATIENT, DT_CX, "identifier[]", NULL),
    F("MRG", 4, R_PATIENT, DT_CX, "identifier[]", NULL),
    F("MRG", 7, R_PATIENT, DT_XPN, "name[]", NULL),

    /* NK1[RelatedPerson] */
    U("NK1", 1, R_RELATEDPERSON),
    F("NK1", 2, R_RELATEDPERSON, DT_XPN, "name[]", NULL),
    F("NK1", 3, R_RELATEDPERSON, DT_CWE, "relationship[]", "0063"),
    F("NK1", 4, R_RELATEDPERSON, DT_XAD, "address[]", NULL),
    F("NK1", 5, R_RELATEDPERSON, DT_XTN, "telecom[]", "home"),
    F("NK1", 6, R_RELATEDPERSON, DT_XTN, "telecom[]", "work"),
    F("NK1", 7, R_RELATEDPERSON, DT_CWE, "relationship[]", "0131"),
    F("NK1", 8, R_RELATEDPERSON, DT_DATETIME, "period.start", NULL),
    F("NK1", 9, R_RELATEDPERSON, DT_DATETIME, "period.end", NULL),
    F("NK1", 12, R_RELATEDPERSON, DT_CX, "identifier[]", NULL),
    F("NK1", 15, R_RELATEDPERSON, DT_CODE, "gender", "0001"),
    F("NK1", 16, R_RELATEDPERSON, DT_DATE, "birthDate", NULL),
    F("NK1", 20, R_RELATEDPERSON, DT_CWE, "communication[].language", NULL),
    F("NK1", 30, R_RELATEDPERSON, DT_XPN, "name[]", NULL),
    F("NK1", 31, R_RELATEDPERSON, DT_XTN, "telecom[]", NULL),
    F("NK1", 32, R_RELATEDPERSON, DT_XAD, "address[]", NULL),
    F("NK1", 33, R_RELATEDPERSON, DT_CX, "identifier[]", NULL),
    F("NK1", 37, R_RELATEDPERSON, DT_ID_TYPED, "identifier[]", "SS"),

    /* GT1 -> RelatedPerson (guarantor) */
    U("GT1", 1, R_RELATEDPERSON),
    F("GT1", 2, R_RELATEDPERSON, DT_CX, "identifier[]", NULL),
    F("GT1", 3, R_RELATEDPERSON, DT_XPN, "name[]", NULL),
    F("GT1", 5, R_RELATEDPERSON, DT_XAD, "address[]", NULL),
    F("GT1", 6, R_RELATEDPERSON, DT_XTN, "telecom[]", "home"),
    F("GT1", 7, R_RELATEDPERSON, DT_XTN, "telecom[]", "work"),
    F("GT1", 8, R_RELATEDPERSON, DT_DATE, "birthDate", NULL),
    F("GT1", 9, R_RELATEDPERSON, DT_CODE, "gender", "0001"),
    F("GT1", 11, R_RELATEDPERSON, DT_CWE, "relationship[]", "0063"),
    F("GT1", 12, R_RELATEDPERSON, DT_ID_TYPED, "identifier[]", "SS"),

    /* PV1[Encounter] */
    U("PV1", 1, R_ENCOUNTER),
    F("PV1", 2, R_ENCOUNTER, DT_VOCAB_CODING, "class", "0004"),
    F("PV1", 3, R_ENCOUNTER, DT_PL_REF, "location[].location", NULL),
    F("PV1", 4, R_ENCOUNTER, DT_CWE, "type[]", "0007"),
    F("PV1", 5, R_ENCOUNTER, DT_CX, "hospitalization.preAdmissionIdentifier", NULL),
    F("PV1", 7, R_ENCOUNTER, DT_XCN_PART, "participant[]", "ATND"),
    F("PV1", 8, R_ENCOUNTER, DT_XCN_PART, "participant[]", "REF"),
    F("PV1", 9, R_ENCOUNTER, DT_XCN_PART, "participant[]", "CON"),
    F("PV1", 10, R_ENCOUNTER, DT_CWE, "serviceType", "0069"),
    F("PV1", 13, R_ENCOUNTER, DT_CWE, "hospitalization.reAdmission", "0092"),
    F("PV1", 14, R_ENCOUNTER, DT_CWE, "hospitalization.admitSource", "0023"),
    F("PV1", 17, R_ENCOUNTER, DT_XCN_PART, "participant[]", "ADM"),
    F("PV1", 18, R_ENCOUNTER, DT_CWE, "type[]", "0018"),
    F("PV1", 19, R_ENCOUNTER, DT_CX, "identifier[]", NULL),
    F("PV1", 36, R_ENCOUNTER, DT_CWE, "hospitalization.dischargeDisposition", "0112"),
    F("PV1", 38, R_ENCOUNTER, DT_CWE, "hospitalization.dietPreference[]", "0114"),
    F("PV1", 44, R_ENCOUNTER, DT_DATETIME, "period.start", NULL),
    F("PV1", 45, R_ENCOUNTER, DT_DATETIME, "period.end", NULL),
    F("PV1", 50, R_ENCOUNTER, DT_CX, "identifier[]", NULL),
    F("PV1", 52, R_ENCOUNTER, DT_XCN_PART, "participant[]", "PART"),

    /* PV2[Encounter] */
    F("PV2", 3, R_ENCOUNTER, DT_CWE, "reasonCode[]", NULL),
    F("PV2", 25, R_ENCOUNTER, DT_CWE, "priority", "0217"),

    /* AL1 / IAM [AllergyIntolerance] */
    U("AL1", 1, R_ALLERGY),
    F("AL1", 2, R_ALLERGY, DT_CODE, "category[]", "0127"),
    F("AL1", 3, R_ALLERGY, DT_CWE, "code", NULL),
    F("AL1", 4, R_ALLERGY, DT_CODE, "criticality", "0128"),
    F("AL1", 5, R_ALLERGY, DT_CC_TEXT, "reaction[0].manifestation[]", NULL),
    F("AL1", 6, R_ALLERGY, DT_DATETIME, "onsetDateTime", NULL),
    U("IAM", 1, R_ALLERGY),
    F("IAM", 2, R_ALLERGY, DT_CODE, "category[]", "0127"),
    F("IAM", 3, R_ALLERGY, DT_CWE, "code", NULL),
    F("IAM", 4, R_ALLERGY, DT_CODE, "criticality", "0128"),
    F("IAM", 5, R_ALLERGY, DT_CC_TEXT, "reaction[0].manifestation[]", NULL),
    F("IAM", 7, R_ALLERGY, DT_EI, "identifier[]", NULL),
    F("IAM", 11, R_ALLERGY, DT_DATETIME, "onsetDateTime", NULL),
    F("IAM", 13, R_ALLERGY, DT_DATETIME, "recordedDate", NULL),

    /* DG1[Condition] */
    U("DG1", 1, R_CONDITION),
    F("DG1", 3, R_CONDITION, DT_CWE, "code", NULL),
    FX("DG1", 4, R_CONDITION, DT_STRING, CV_F_IFABSENT, "code.text", NULL),
    F("DG1", 5, R_CONDITION, DT_DATETIME, "onsetDateTime", NULL),
    F("DG1", 6, R_CONDITION, DT_CWE, "category[]", "0052"),
    F("DG1", 16, R_CONDITION, DT_XCN_REF, "asserter", NULL),
    F("DG1", 19, R_CONDITION, DT_DATETIME, "recordedDate", NULL),
    F("DG1", 20, R_CONDITION, DT_EI, "identifier[]", NULL),

    /* PR1[Procedure] */
    U("PR1", 1, R_PROCEDURE),
    F("PR1", 3, R_PROCEDURE, DT_CWE, "code", NULL),
    FX("PR1", 4, R_PROCEDURE, DT_STRING, CV_F_IFABSENT, "code.text", NULL),
    F("PR1", 5, R_PROCEDURE, DT_DATETIME, "performedDateTime", NULL),
    F("PR1", 6, R_PROCEDURE, DT_CWE, "category", "0230"),
    F("PR1", 8, R_PROCEDURE, DT_XCN_REF, "performer[].actor", NULL),
    F("PR1", 11, R_PROCEDURE, DT_XCN_REF, "performer[].actor", NULL),
    F("PR1", 12, R_PROCEDURE, DT_XCN_REF, "performer[].actor", NULL),
    F("PR1", 19, R_PROCEDURE, DT_EI, "identifier[]", NULL),

    /* IN1[Coverage] */
    U("IN1", 1, R_COVERAGE),
    F("IN1", 2, R_COVERAGE, DT_COV_CLASS, "class[]", "plan"),
    F("IN1", 3, R_COVERAGE, DT_IN1_PAYOR, "payor[]", NULL),
    F("IN1", 4, R_COVERAGE, DT_IN1_PAYOR, "payor[]", NULL),
    U("IN1", 5, R_COVERAGE), /* read by DT_IN1_PAYOR */
    U("IN1", 7, R_COVERAGE),
    F("IN1", 8, R_COVERAGE, DT_COV_CLASS, "class[]", "group"),
    F("IN1", 12, R_COVERAGE, DT_DATE, "period.start", NULL),
    F("IN1", 13, R_COVERAGE, DT_DATE, "period.end", NULL),
    F("IN1", 15, R_COVERAGE, DT_CWE, "type", "0086"),
    F("IN1", 17, R_COVERAGE, DT_CWE, "relationship", "0063"),
    F("IN1", 36, R_COVERAGE, DT_STRING, "subscriberId", NULL),

    /* ORC: one set per order resource type */
    ORC_COMMON(R_SERVICEREQUEST, ""),
    F("ORC", 4, R_SERVICEREQUEST, DT_EI, "requisition", NULL),
    F("ORC", 4, R_SERVICEREQUEST, DT_EI_TYPED, "identifier[]", "PGN"),
    F("ORC", 33, R_SERVICEREQUEST, DT_CX, "identifier[]", NULL),
    /* ORC[DiagnosticReport] (ORU) */
    F("ORC", 2, R_DIAGNOSTICREPORT, DT_EI_TYPED, "identifier[]", "PLAC"),
    F("ORC", 3, R_DIAGNOSTICREPORT, DT_EI_TYPED, "identifier[]", "FILL"),
    F("ORC", 4, R_DIAGNOSTICREPORT, DT_EI_TYPED, "identifier[]", "PGN"),
    U("ORC", 1, R_DIAGNOSTICREPORT), /* order control: the report's status comes from OBR-25 */
    F("ORC", 9, R_SERVICEREQUEST, DT_DATETIME, "authoredOn", NULL),
    F("ORC", 12, R_SERVICEREQUEST, DT_XCN_REF, "requester", NULL),
    ORC_COMMON(R_IMMUNIZATION, "imm"),
    F("ORC", 12, R_IMMUNIZATION, DT_XCN_REF, "performer[].actor", NULL),
    ORC_COMMON(R_MEDREQUEST, "mr"),
    F("ORC", 4, R_MEDREQUEST, DT_EI, "groupIdentifier", NULL),
    F("ORC", 9, R_MEDREQUEST, DT_DATETIME, "authoredOn", NULL),
    F("ORC", 12, R_MEDREQUEST, DT_XCN_REF, "requester", NULL),
    ORC_COMMON(R_MEDADMIN, "ma"),
    F("ORC", 12, R_MEDADMIN, DT_XCN_REF, "performer[].actor", NULL),

    /* OBR[ServiceRequest] */
    U("OBR", 1, R_SERVICEREQUEST),
    F("OBR", 2, R_SERVICEREQUEST, DT_EI_TYPED, "identifier[]", "PLAC"),
    F("OBR", 3, R_SERVICEREQUEST, DT_EI_TYPED, "identifier[]", "FILL"),
    F("OBR", 4, R_SERVICEREQUEST, DT_CWE, "code", NULL),
    F("OBR", 16, R_SERVICEREQUEST, DT_XCN_REF, "requester", NULL),
    F("OBR", 31, R_SERVICEREQUEST, DT_CWE, "reasonCode[]", NULL),
    F("OBR", 53, R_SERVICEREQUEST, DT_CX, "identifier[]", NULL),
    /* OBR[DiagnosticReport] (ORU) */
    U("OBR", 1, R_DIAGNOSTICREPORT),
    F("OBR", 2, R_DIAGNOSTICREPORT, DT_EI_TYPED, "identifier[]", "PLAC"),
    F("OBR", 3, R_DIAGNOSTICREPORT, DT_EI_TYPED, "identifier[]", "FILL"),
    F("OBR", 4, R_DIAGNOSTICREPORT, DT_CWE, "code", NULL),
    F("OBR", 7, R_DIAGNOSTICREPORT, DT_DATETIME, "effectiveDateTime", NULL),
    F("OBR", 22, R_DIAGNOSTICREPORT, DT_INSTANT, "issued", NULL),
    F("OBR", 24, R_DIAGNOSTICREPORT, DT_CWE, "category[]", "0074"),
    F("OBR", 25, R_DIAGNOSTICREPORT, DT_CODE, "status", "0123"),
    F("OBR", 32, R_DIAGNOSTICREPORT, DT_XCN_REF, "resultsInterpreter[]", NULL),

    /* OBR[Specimen] (ORU, OML) */
    U("OBR", 1, R_SPECIMEN),
    F("OBR", 2, R_SPECIMEN, DT_EI, "accessionIdentifier", NULL),
    FX("OBR", 7, R_SPECIMEN, DT_DATETIME, CV_F_UNLESS, "collection.collectedDateTime", "8"),
    FX("OBR", 7, R_SPECIMEN, DT_DATETIME, CV_F_IF, "collection.collectedPeriod.start", "8"),
    F("OBR", 8, R_SPECIMEN, DT_DATETIME, "collection.collectedPeriod.end", NULL),
    F("OBR", 9, R_SPECIMEN, DT_CQ, "collection.quantity", NULL),
    F("OBR", 10, R_SPECIMEN, DT_XCN_REF, "collection.collector", NULL),
    F("OBR", 14, R_SPECIMEN, DT_DATETIME, "receivedTime", NULL),
    F("OBR", 15, R_SPECIMEN, DT_SPS, "type", NULL),

    /* TQ1[ServiceRequest], TQ1[MedicationRequest] */
    U("TQ1", 1, R_SERVICEREQUEST),
    F("TQ1", 2, R_SERVICEREQUEST, DT_CQ, "quantityQuantity", NULL),
    F("TQ1", 7, R_SERVICEREQUEST, DT_DATETIME, "occurrenceTiming.repeat.boundsPeriod.start", NULL),
    F("TQ1", 8, R_SERVICEREQUEST, DT_DATETIME, "occurrenceTiming.repeat.boundsPeriod.end", NULL),
    F("TQ1", 9, R_SERVICEREQUEST, DT_CODE, "priority", "0485"),
    U("TQ1", 1, R_MEDREQUEST),
    F("TQ1", 7, R_MEDREQUEST, DT_DATETIME, "dosageInstruction[0].timing.repeat.boundsPeriod.start", NULL),
    F("TQ1", 8, R_MEDREQUEST, DT_DATETIME, "dosageInstruction[0].timing.repeat.boundsPeriod.end", NULL),
    F("TQ1", 9, R_MEDREQUEST, DT_CODE, "priority", "0485"),

    /* OBX[Observation] */
    U("OBX", 1, R_OBSERVATION),
    U("OBX", 2, R_OBSERVATION), /* selects the value[x] converter */
    F("OBX", 3, R_OBSERVATION, DT_CWE, "code", NULL),
    U("OBX", 4, R_OBSERVATION), /* key */
    F("OBX", 5, R_OBSERVATION, DT_OBX_VALUE, "value[x]", NULL),
    U("OBX", 6, R_OBSERVATION), /* units: read with OBX-5 */
    F("OBX", 7, R_OBSERVATION, DT_STRING, "referenceRange[0].text", NULL),
    F("OBX", 8, R_OBSERVATION, DT_CWE, "interpretation[]", "0078"),
    F("OBX", 11, R_OBSERVATION, DT_CODE, "status", "0085"),
    F("OBX", 14, R_OBSERVATION, DT_DATETIME, "effectiveDateTime", NULL),
    F("OBX", 16, R_OBSERVATION, DT_XCN_REF, "performer[]", NULL),
    F("OBX", 17, R_OBSERVATION, DT_CWE, "method", NULL),
    F("OBX", 19, R_OBSERVATION, DT_INSTANT, "issued", NULL),
    F("OBX", 20, R_OBSERVATION, DT_CWE, "bodySite", NULL),
    F("OBX", 21, R_OBSERVATION, DT_EI, "identifier[]", NULL),
    F("OBX", 15, R_OBSERVATION, DT_CWE_ORG_REF, "performer[]", NULL),
    F("OBX", 23, R_OBSERVATION, DT_OBX_PERF_ORG, "performer[]", NULL),
    U("OBX", 24, R_OBSERVATION), /* address of the OBX-23 organization */
    F("OBX", 29, R_OBSERVATION, DT_CWE, "category[]", "0936"),
    F("OBX", 30, R_OBSERVATION, DT_CWE, "category[]", "0937"),
    F("OBX", 25, R_OBSERVATION, DT_XCN_REF, "performer[]", NULL),
    /* OBX[DocumentReference] (MDM) */
    U("OBX", 1, R_DOCREF),
    U("OBX", 2, R_DOCREF),
    FX("OBX", 3, R_DOCREF, DT_CWE, CV_F_IFABSENT, "type", NULL),
    U("OBX", 4, R_DOCREF),
    F("OBX", 5, R_DOCREF, DT_OBX_ATTACH, "content[].attachment", NULL),
    F("OBX", 11, R_DOCREF, DT_CODE, "docStatus", "0085doc"),

    /* NTE: attached to the resource of the segment before it */
    U("NTE", 1, R_OBSERVATION),
    F("NTE", 3, R_OBSERVATION, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_SERVICEREQUEST),
    F("NTE", 3, R_SERVICEREQUEST, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_SPECIMEN),
    F("NTE", 3, R_SPECIMEN, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_ALLERGY),
    F("NTE", 3, R_ALLERGY, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_CONDITION),
    F("NTE", 3, R_CONDITION, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_PROCEDURE),
    F("NTE", 3, R_PROCEDURE, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_IMMUNIZATION),
    F("NTE", 3, R_IMMUNIZATION, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_MEDREQUEST),
    F("NTE", 3, R_MEDREQUEST, DT_ANNOT, "note[]", NULL),
    U("NTE", 1, R_MEDADMIN),
    F("NTE", 3, R_MEDADMIN, DT_ANNOT, "note[]", NULL),

    /* SPM[Specimen] */
    U("SPM", 1, R_SPECIMEN),
    F("SPM", 2, R_SPECIMEN, DT_EIP, "identifier[]", NULL),
    F("SPM", 4, R_SPECIMEN, DT_CWE, "type", "0487"),
    F("SPM", 7, R_SPECIMEN, DT_CWE, "collection.method", "0488"),
    F("SPM", 8, R_SPECIMEN, DT_CWE, "collection.bodySite", NULL),
    F("SPM", 12, R_SPECIMEN, DT_CQ, "collection.quantity", NULL),
    F("SPM", 14, R_SPECIMEN, DT_ANNOT, "note[]", NULL),
    F("SPM", 17, R_SPECIMEN, DT_DATETIME, "collection.collectedDateTime", NULL),
    F("SPM", 18, R_SPECIMEN, DT_DATETIME, "receivedTime", NULL),
    F("SPM", 24, R_SPECIMEN, DT_CWE, "condition[]", "0493"),

    /* RXA[Immunization] */
    U("RXA", 1, R_IMMUNIZATION),
    U("RXA", 2, R_IMMUNIZATION),
    F("RXA", 3, R_IMMUNIZATION, DT_DATETIME, "occurrenceDateTime", NULL),
    F("RXA", 5, R_IMMUNIZATION, DT_CWE, "vaccineCode", NULL),
    F("RXA", 6, R_IMMUNIZATION, DT_NM_QTY, "doseQuantity", NULL),
    F("RXA", 7, R_IMMUNIZATION, DT_UNIT, "doseQuantity", NULL),
    F("RXA", 9, R_IMMUNIZATION, DT_CWE, "reportOrigin", NULL),
    F("RXA", 10, R_IMMUNIZATION, DT_XCN_REF, "performer[].actor", NULL),
    F("RXA", 11, R_IMMUNIZATION, DT_LA2_REF, "location", NULL),
    F("RXA", 15, R_IMMUNIZATION, DT_STRING, "lotNumber", NULL),
    F("RXA", 16, R_IMMUNIZATION, DT_DATE, "expirationDate", NULL),
    F("RXA", 17, R_IMMUNIZATION, DT_CWE_ORG_REF, "manufacturer", NULL),
    F("RXA", 18, R_IMMUNIZATION, DT_CWE, "statusReason", NULL),
    F("RXA", 19, R_IMMUNIZATION, DT_CWE, "reasonCode[]", NULL),
    F("RXA", 20, R_IMMUNIZATION, DT_CODE, "status", "0322"),
    F("RXA", 22, R_IMMUNIZATION, DT_DATETIME, "recorded", NULL),
    /* RXA[MedicationAdministration] */
    U("RXA", 1, R_MEDADMIN),
    U("RXA", 2, R_MEDADMIN),
    F("RXA", 3, R_MEDADMIN, DT_DATETIME, "effectivePeriod.start", NULL),
    F("RXA", 4, R_MEDADMIN, DT_DATETIME, "effectivePeriod.end", NULL),
    F("RXA", 5, R_MEDADMIN, DT_CWE, "medicationCodeableConcept", NULL),
    F("RXA", 6, R_MEDADMIN, DT_NM_QTY, "dosage.dose", NULL),
    F("RXA", 7, R_MEDADMIN, DT_UNIT, "dosage.dose", NULL),
    F("RXA", 10, R_MEDADMIN, DT_XCN_REF, "performer[].actor", NULL),
    F("RXA", 20, R_MEDADMIN, DT_CODE, "status", "0322ma"),

    /* RXR[Immunization] / [MedicationRequest] / [MedicationAdministration] */
    F("RXR", 1, R_IMMUNIZATION, DT_CWE, "route", "0162"),
    F("RXR", 2, R_IMMUNIZATION, DT_CWE, "site", "0163"),
    F("RXR", 1, R_MEDREQUEST, DT_CWE, "dosageInstruction[0].route", "0162"),
    F("RXR", 2, R_MEDREQUEST, DT_CWE, "dosageInstruction[0].site", "0163"),
    F("RXR", 1, R_MEDADMIN, DT_CWE, "dosage.route", "0162"),
    F("RXR", 2, R_MEDADMIN, DT_CWE, "dosage.site", "0163"),

    /* RXE / RXO [MedicationRequest] */
    F("RXE", 2, R_MEDREQUEST, DT_CWE, "medicationCodeableConcept", NULL),
    F("RXE", 3, R_MEDREQUEST, DT_NM_QTY, "dosageInstruction[0].doseAndRate[0].doseQuantity", NULL),
    F("RXE", 5, R_MEDREQUEST, DT_UNIT, "dosageInstruction[0].doseAndRate[0].doseQuantity", NULL),
    F("RXE", 7, R_MEDREQUEST, DT_CWE, "dosageInstruction[0].additionalInstruction[]", NULL),
    F("RXE", 10, R_MEDREQUEST, DT_NM_QTY, "dispenseRequest.quantity", NULL),
    F("RXE", 11, R_MEDREQUEST, DT_UNIT, "dispenseRequest.quantity", NULL),
    F("RXE", 12, R_MEDREQUEST, DT_INT, "dispenseRequest.numberOfRepeatsAllowed", NULL),
    F("RXE", 15, R_MEDREQUEST, DT_ID_TYPED, "identifier[]", "FILL"),
    F("RXE", 27, R_MEDREQUEST, DT_CWE, "reasonCode[]", NULL),
    F("RXO", 1, R_MEDREQUEST, DT_CWE, "medicationCodeableConcept", NULL),
    F("RXO", 2, R_MEDREQUEST, DT_NM_QTY, "dosageInstruction[0].doseAndRate[0].doseQuantity", NULL),
    F("RXO", 4, R_MEDREQUEST, DT_UNIT, "dosageInstruction[0].doseAndRate[0].doseQuantity", NULL),
    F("RXO", 7, R_MEDREQUEST, DT_CWE, "dosageInstruction[0].additionalInstruction[]", NULL),
    F("RXO", 11, R_MEDREQUEST, DT_NM_QTY, "dispenseRequest.quantity", NULL),
    F("RXO", 12, R_MEDREQUEST, DT_UNIT, "dispenseRequest.quantity", NULL),
    F("RXO", 13, R_MEDREQUEST, DT_INT, "dispenseRequest.numberOfRepeatsAllowed", NULL),
    F("RXO", 20, R_MEDREQUEST, DT_CWE, "reasonCode[]", NULL),

    /* SCH / AIS / AIG / AIL / AIP / RGS [Appointment] */
    F("SCH", 1, R_APPOINTMENT, DT_EI, "identifier[]", NULL),
    F("SCH", 2, R_APPOINTMENT, DT_EI, "identifier[]", NULL),
    F("SCH", 6, R_APPOINTMENT, DT_CWE, "reasonCode[]", NULL),
    F("SCH", 7, R_APPOINTMENT, DT_CWE, "reasonCode[]", "0276"),
    F("SCH", 8, R_APPOINTMENT, DT_CWE, "appointmentType", "0277"),
    F("SCH", 9, R_APPOINTMENT, DT_INT, "minutesDuration", NULL),
    F("SCH", 11, R_APPOINTMENT, DT_TQ_START, "start", NULL),
    F("SCH", 11, R_APPOINTMENT, DT_TQ_END, "end", NULL),
    F("SCH", 25, R_APPOINTMENT, DT_CODE, "status", "0278"),
    U("AIS", 1, R_APPOINTMENT),
    F("AIS", 3, R_APPOINTMENT, DT_CWE, "serviceType[]", NULL),
    FX("AIS", 4, R_APPOINTMENT, DT_DATETIME, CV_F_IFABSENT, "start", NULL),
    FX("AIS", 7, R_APPOINTMENT, DT_INT, CV_F_IFABSENT, "minutesDuration", NULL),
    U("AIG", 1, R_APPOINTMENT),
    F("AIG", 3, R_APPOINTMENT, DT_APPT_CWE, "participant[]", NULL),
    F("AIG", 4, R_APPOINTMENT, DT_APPT_CWE, "participant[]", NULL),
    U("AIL", 1, R_APPOINTMENT),
    F("AIL", 3, R_APPOINTMENT, DT_APPT_PL, "participant[]", NULL),
    U("AIP", 1, R_APPOINTMENT),
    F("AIP", 3, R_APPOINTMENT, DT_APPT_XCN, "participant[]", NULL),
    U("RGS", 1, R_APPOINTMENT),

    /* TXA[DocumentReference] */
    U("TXA", 1, R_DOCREF),
    F("TXA", 2, R_DOCREF, DT_CWE, "type", "0270"),
    F("TXA", 4, R_DOCREF, DT_INSTANT, "date", NULL),
    F("TXA", 5, R_DOCREF, DT_XCN_REF, "author[]", NULL),
    F("TXA", 9, R_DOCREF, DT_XCN_REF, "author[]", NULL),
    F("TXA", 12, R_DOCREF, DT_EI, "masterIdentifier", NULL),
    F("TXA", 17, R_DOCREF, DT_CODE, "docStatus", "0271"),
    F("TXA", 18, R_DOCREF, DT_CWE, "securityLabel[]", "0272"),
    F("TXA", 19, R_DOCREF, DT_CODE, "status", "0273"),
    F("TXA", 22, R_DOCREF, DT_XCN_REF, "authenticator", NULL),

    /* FT1[ChargeItem] */
    U("FT1", 1, R_CHARGEITEM),
    F("FT1", 2, R_CHARGEITEM, DT_STRING, "identifier[].value", NULL),
    F("FT1", 4, R_CHARGEITEM, DT_DATETIME, "occurrencePeriod.start", NULL),
    F("FT1", 5, R_CHARGEITEM, DT_DATETIME, "enteredDate", NULL),
    F("FT1", 7, R_CHARGEITEM, DT_CWE, "code", "0132"),
    F("FT1", 10, R_CHARGEITEM, DT_DECIMAL, "quantity.value", NULL),
    F("FT1", 19, R_CHARGEITEM, DT_CWE, "reason[]", NULL),
    F("FT1", 20, R_CHARGEITEM, DT_XCN_REF, "performer[].actor", NULL),
    F("FT1", 21, R_CHARGEITEM, DT_XCN_REF, "enterer", NULL),
};
const size_t cv_nfields = N(cv_fields);
_Static_assert(N(cv_fields) <= 1024, "convert.c indexes at most 1024 segment-map rows");

/* ---- links between the resources of a message ---- */

const struct cv_link cv_links[] = {
    {R_MESSAGEHEADER, "focus[]", R_PATIENT, CV_L_CURRENT},
    {R_ENCOUNTER, "subject", R_PATIENT, CV_L_CURRENT},
    {R_RELATEDPERSON, "patient", R_PATIENT, CV_L_CURRENT},
    {R_ALLERGY, "patient", R_PATIENT, CV_L_CURRENT},
    {R_ALLERGY, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_CONDITION, "subject", R_PATIENT, CV_L_CURRENT},
    {R_CONDITION, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_PROCEDURE, "subject", R_PATIENT, CV_L_CURRENT},
    {R_PROCEDURE, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_COVERAGE, "beneficiary", R_PATIENT, CV_L_CURRENT},
    {R_SERVICEREQUEST, "subject", R_PATIENT, CV_L_CURRENT},
    {R_SERVICEREQUEST, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_SERVICEREQUEST, "specimen[]", R_SPECIMEN, CV_L_CHILDREN},
    {R_DIAGNOSTICREPORT, "basedOn[]", R_SERVICEREQUEST, CV_L_CURRENT},
    {R_DIAGNOSTICREPORT, "subject", R_PATIENT, CV_L_CURRENT},
    {R_DIAGNOSTICREPORT, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_DIAGNOSTICREPORT, "specimen[]", R_SPECIMEN, CV_L_CHILDREN},
    {R_DIAGNOSTICREPORT, "result[]", R_OBSERVATION, CV_L_CHILDREN},
    {R_OBSERVATION, "basedOn[]", R_SERVICEREQUEST, CV_L_CURRENT},
    {R_OBSERVATION, "partOf[]", R_IMMUNIZATION, CV_L_CURRENT},
    {R_OBSERVATION, "subject", R_PATIENT, CV_L_CURRENT},
    {R_OBSERVATION, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_SPECIMEN, "subject", R_PATIENT, CV_L_CURRENT},
    {R_IMMUNIZATION, "patient", R_PATIENT, CV_L_CURRENT},
    {R_IMMUNIZATION, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_MEDREQUEST, "subject", R_PATIENT, CV_L_CURRENT},
    {R_MEDREQUEST, "encounter", R_ENCOUNTER, CV_L_CURRENT},
    {R_MEDADMIN, "subject", R_PATIENT, CV_L_CURRENT},
    {R_MEDADMIN, "context", R_ENCOUNTER, CV_L_CURRENT},
    {R_MEDADMIN, "request", R_MEDREQUEST, CV_L_CURRENT},
    {R_APPOINTMENT, "participant[]", R_PATIENT, CV_L_PARTICIPANT},
    {R_DOCREF, "subject", R_PATIENT, CV_L_CURRENT},
    {R_DOCREF, "context.encounter[]", R_ENCOUNTER, CV_L_CURRENT},
    {R_CHARGEITEM, "subject", R_PATIENT, CV_L_CURRENT},
    {R_CHARGEITEM, "context", R_ENCOUNTER, CV_L_CURRENT},
};
const size_t cv_nlinks = N(cv_links);

/* ---- required elements the message may not give ---- */

/* A complex value that says "the message did not give it" (R4 data-absent-reason). */
#define CV_DAR "{\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/data-absent-reason\",\"valueCode\":\"unknown\"}]}"

const struct cv_default cv_defaults[] = {
    {R_MESSAGEHEADER, "source.endpoint", "urn:causeway:v2-sender"},
    {R_MESSAGEHEADER, "destination[0].endpoint", "urn:causeway:v2-receiver"},
    {R_ENCOUNTER, "status", "unknown"},
    /* required elements the message left empty: data-absent-reason "unknown" */
    {R_OBSERVATION, "code", CV_DAR},
    {R_MESSAGEHEADER, "eventCoding", CV_DAR}, /* MSH-9.2 empty (an ACK) */
    {R_DIAGNOSTICREPORT, "code", CV_DAR},
    {R_IMMUNIZATION, "vaccineCode", CV_DAR},
    {R_IMMUNIZATION, "_occurrenceDateTime", CV_DAR},
    {R_COVERAGE, "payor", "[" CV_DAR "]"},
    {R_DOCREF, "content", "[{\"attachment\":" CV_DAR "}]"},
    {R_ENCOUNTER, "class",
     "{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-NullFlavor\",\"code\":\"UNK\"}"},
    {R_SERVICEREQUEST, "status", "unknown"},
    {R_SERVICEREQUEST, "intent", "order"},
    {R_DIAGNOSTICREPORT, "status", "unknown"},
    {R_OBSERVATION, "status", "unknown"},
    {R_IMMUNIZATION, "status", "completed"},
    {R_MEDREQUEST, "status", "unknown"},
    {R_MEDREQUEST, "intent", "order"},
    {R_MEDADMIN, "status", "unknown"},
    {R_PROCEDURE, "status", "unknown"},
    {R_COVERAGE, "status", "active"},
    {R_APPOINTMENT, "status", "booked"},
    {R_DOCREF, "status", "current"},
    {R_CHARGEITEM, "status", "billable"},
    {R_ALLERGY, "clinicalStatus",
     "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical\","
     "\"code\":\"active\"}]}"},
};
const size_t cv_ndefaults = N(cv_defaults);

/* ---- OBX-2 value types (OBX[Observation] OBX-5 rows) ---- */

/* The dt column reuses converter ids as selectors inside obx_value():
   DT_TEXT = SN, DT_INT = TM, DT_DECIMAL = NA, DT_BOOL = DR, DT_XAD = NR. */
const struct cv_vt cv_vts[] = {
    {"NM", DT_NM_QTY, "valueQuantity"},
    {"ST", DT_STRING, "valueString"},
    {"TX", DT_STRING, "valueString"},
    {"FT", DT_STRING, "valueString"},
    {"CE", DT_CWE, "valueCodeableConcept"},
    {"CWE", DT_CWE, "valueCodeableConcept"},
    {"CNE", DT_CWE, "valueCodeableConcept"},
    {"CF", DT_CWE, "valueCodeableConcept"},
    {"IS", DT_CWE, "valueCodeableConcept"},
    {"ID", DT_CWE, "valueCodeableConcept"},
    {"SN", DT_TEXT, "valueQuantity"},
    {"DT", DT_DATETIME, "valueDateTime"},
    {"DTM", DT_DATETIME, "valueDateTime"},
    {"TS", DT_DATETIME, "valueDateTime"},
    {"TM", DT_INT, "valueTime"},
    {"ED", DT_ED, "extension"},
    {"RP", DT_RP, "extension"},
    {"NA", DT_DECIMAL, "valueSampledData"},
    {"CQ", DT_CQ, "valueQuantity"},
    {"DR", DT_BOOL, "valuePeriod"},
    {"NR", DT_XAD, "valueRange"},
};
const size_t cv_nvts = N(cv_vts);

/* ---- data type converters: components each one reads ---- */

#define C(n) (1u << ((n) - 1))
const struct cv_dt_info cv_dt_info[DT_COUNT] = {
    [DT_USED] = {"-", 0},
    [DT_STRING] = {"string", C(1)},
    [DT_TEXT] = {"string", C(1)},
    [DT_CODE] = {"code", C(1) | C(2) | C(3)},
    [DT_BOOL] = {"boolean", C(1)},
    [DT_INT] = {"integer", C(1)},
    [DT_DECIMAL] = {"decimal", C(1)},
    [DT_DATE] = {"date", C(1) | C(2)},
    [DT_DATETIME] = {"dateTime", C(1) | C(2)},
    [DT_INSTANT] = {"instant", C(1) | C(2)},
    [DT_CX] = {"CX[Identifier]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(8)},
    [DT_EI] = {"EI[Identifier]", C(1) | C(2) | C(3) | C(4)},
    [DT_HD_ID] = {"HD[Identifier]", C(1) | C(2) | C(3)},
    [DT_ID_TYPED] = {"Identifier", C(1)},
    [DT_XPN] = {"XPN[HumanName]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(10) | C(12) | C(13) | C(14)},
    [DT_XAD] = {"XAD[Address]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(9) | C(13) | C(14)},
    [DT_XTN] = {"XTN[ContactPoint]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(8) | C(12) | C(18)},
    [DT_CWE] = {"CWE[CodeableConcept]", 0x3fff},
    [DT_CODING] = {"CWE[Coding]", C(1) | C(2) | C(3) | C(7) | C(14)},
    [DT_CQ] = {"CQ[Quantity]", C(1) | C(2)},
    [DT_NM_QTY] = {"NM[Quantity]", C(1)},
    [DT_XCN_REF] = {"XCN[Practitioner]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(9) | C(10) | C(13)},
    [DT_XON_REF] = {"XON[Organization]", C(1) | C(2) | C(3) | C(6) | C(10)},
    [DT_HD_ORG_REF] = {"HD[Organization]", C(1) | C(2) | C(3)},
    [DT_PL_REF] = {"PL[Location]", C(1) | C(2) | C(3) | C(4) | C(7) | C(8) | C(9)},
    [DT_LA2_REF] = {"LA2[Location]", C(1) | C(2) | C(3) | C(4) | C(7) | C(8) | C(9) | C(10) | C(11) | C(12) |
                                         C(13) | C(14) | C(16)},
    [DT_ANNOT] = {"Annotation", 0},
    [DT_OBX_VALUE] = {"OBX-5", 0},
    [DT_ED] = {"ED[Attachment]", C(2) | C(3) | C(4) | C(5)},
    [DT_RP] = {"RP[Attachment]", C(1) | C(2) | C(3) | C(4)},
    [DT_MSG_EVENT] = {"MSG[Coding]", C(1) | C(2) | C(3)},
    [DT_DLN] = {"DLN[Identifier]", C(1) | C(3)},
    [DT_CX_LINK] = {"CX[Identifier]", C(1) | C(4) | C(5) | C(6) | C(7) | C(8)},
    [DT_XCN_NAME] = {"XCN[HumanName]", C(2) | C(3) | C(4) | C(5) | C(6) | C(7)},
    [DT_SPS] = {"SPS[CodeableConcept]", C(1)},
    [DT_EI_TYPED] = {"EI[Identifier]", C(1) | C(2) | C(3) | C(4)},
    [DT_USCORE] = {"CWE[Extension]", C(1) | C(2) | C(3) | C(9)},
    [DT_BIRTHTIME] = {"dateTime", C(1) | C(2)},
    [DT_VOCAB_CODING] = {"Coding", C(1) | C(2) | C(3)},
    [DT_CC_TEXT] = {"CodeableConcept", C(1) | C(2) | C(3)},
    [DT_XCN_PART] = {"XCN[Practitioner]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(9) | C(13)},
    [DT_COV_CLASS] = {"Coverage.class", C(1) | C(2)},
    [DT_IN1_PAYOR] = {"XON/CX[Organization]", 0},
    [DT_UNIT] = {"CWE[Quantity]", C(1) | C(2) | C(3)},
    [DT_CWE_ORG_REF] = {"CWE[Organization]", C(1) | C(2) | C(3)},
    [DT_OBX_ATTACH] = {"Attachment", 0},
    [DT_TQ_START] = {"TQ[dateTime]", C(4) | C(5)},
    [DT_TQ_END] = {"TQ[dateTime]", C(4) | C(5)},
    [DT_APPT_CWE] = {"CWE[participant]", C(1) | C(2) | C(3)},
    [DT_APPT_PL] = {"PL[participant]", C(1) | C(2) | C(3) | C(4) | C(7) | C(8) | C(9)},
    [DT_APPT_XCN] = {"XCN[participant]", C(1) | C(2) | C(3) | C(4) | C(5) | C(6) | C(7) | C(9) | C(13)},
    [DT_HD_URI] = {"HD[uri]", C(1) | C(2) | C(3)},
    [DT_EIP] = {"EIP[Identifier]", C(1) | C(2)},
    [DT_OBX_PERF_ORG] = {"XON[Organization]", C(1) | C(2) | C(3) | C(6) | C(7) | C(10)},
};

/* ---- vocabulary (v2-to-FHIR IG "Vocabulary Maps", table by table) ---- */

#define AG "http://hl7.org/fhir/administrative-gender"
#define ACT "http://terminology.hl7.org/CodeSystem/v3-ActCode"
const struct cv_vocab cv_vocab[] = {
    /* 0001 Administrative Sex -> AdministrativeGender */
    {"0001", "F", "female", NULL}, {"0001", "M", "male", NULL}, {"0001", "O", "other", NULL},
    {"0001", "U", "unknown", NULL}, {"0001", "A", "other", NULL}, {"0001", "N", "other", NULL},
    {"0001", "X", "other", NULL},
    /* 0004 Patient Class -> v3 ActEncounterCode */
    {"0004", "E", "EMER", ACT}, {"0004", "I", "IMP", ACT}, {"0004", "O", "AMB", ACT},
    {"0004", "P", "PRENC", ACT}, {"0004", "R", "IMP", ACT}, {"0004", "B", "IMP", ACT},
    {"0004", "C", "AMB", ACT}, {"0004", "N", "UNK", "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"},
    {"0004", "U", "UNK", "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"},
    /* 0085 Observation Result Status -> ObservationStatus */
    {"0085", "C", "corrected", NULL}, {"0085", "D", "entered-in-error", NULL},
    {"0085", "F", "final", NULL}, {"0085", "I", "registered", NULL},
    {"0085", "N", "cancelled", NULL}, {"0085", "O", "registered", NULL},
    {"0085", "P", "preliminary", NULL}, {"0085", "R", "preliminary", NULL},
    {"0085", "S", "preliminary", NULL}, {"0085", "U", "final", NULL},
    {"0085", "W", "entered-in-error", NULL}, {"0085", "X", "cancelled", NULL},
    {"0085", "A", "amended", NULL},
    /* 0085 -> CompositionStatus (DocumentReference.docStatus) */
    {"0085doc", "F", "final", NULL}, {"0085doc", "C", "amended", NULL},
    {"0085doc", "P", "preliminary", NULL}, {"0085doc", "R", "preliminary", NULL},
    {"0085doc", "S", "preliminary", NULL}, {"0085doc", "D", "entered-in-error", NULL},
    {"0085doc", "W", "entered-in-error", NULL},
    /* 0123 Result Status -> DiagnosticReportStatus */
    {"0123", "O", "registered", NULL}, {"0123", "I", "registered", NULL},
    {"0123", "S", "registered", NULL}, {"0123", "A", "partial", NULL},
    {"0123", "P", "preliminary", NULL}, {"0123", "C", "corrected", NULL},
    {"0123", "R", "partial", NULL}, {"0123", "F", "final", NULL},
    {"0123", "X", "cancelled", NULL}, {"0123", "Y", "unknown", NULL},
    {"0123", "Z", "unknown", NULL}, {"0123", "M", "partial", NULL},
    {"0123", "N", "unknown", NULL},
    /* 0119 Order Control -> RequestStatus (ServiceRequest, MedicationRequest: own tables) */
    {"0119", "NW", "active", NULL}, {"0119", "OK", "active", NULL}, {"0119", "SC", "active", NULL},
    {"0119", "CA", "revoked", NULL}, {"0119", "CR", "revoked", NULL}, {"0119", "DC", "revoked", NULL},
    {"0119", "OC", "revoked", NULL}, {"0119", "OD", "revoked", NULL}, {"0119", "HD", "on-hold", NULL},
    {"0119", "OH", "on-hold", NULL}, {"0119", "RL", "active", NULL}, {"0119", "XO", "active", NULL},
    {"0119", "XX", "active", NULL}, {"0119", "RE", "completed", NULL}, {"0119", "RP", "active", NULL},
    {"0119", "PA", "active", NULL}, {"0119", "CH", "active", NULL}, {"0119", "SN", "active", NULL},
    {"0119", "NA", "active", NULL}, {"0119", "SS", "active", NULL}, {"0119", "UX", "active", NULL},
    {"0119", "UC", "active", NULL}, {"0119", "UD", "active", NULL},
    /* 0038 Order Status -> RequestStatus */
    {"0038", "A", "active", NULL}, {"0038", "CA", "revoked", NULL}, {"0038", "CM", "completed", NULL},
    {"0038", "DC", "revoked", NULL}, {"0038", "ER", "entered-in-error", NULL},
    {"0038", "HD", "on-hold", NULL}, {"0038", "IP", "active", NULL}, {"0038", "RP", "revoked", NULL},
    {"0038", "SC", "active", NULL},
    /* 0119/0038 -> ImmunizationStatus (status comes from RXA-20; ORC only when absent) */
    {"0119imm", "NW", "completed", NULL}, {"0119imm", "RE", "completed", NULL},
    {"0119imm", "OK", "completed", NULL}, {"0119imm", "CA", "entered-in-error", NULL},
    {"0119imm", "XO", "completed", NULL}, {"0119imm", "DC", "entered-in-error", NULL},
    {"0038imm", "CM", "completed", NULL}, {"0038imm", "CA", "entered-in-error", NULL},
    {"0038imm", "DC", "not-done", NULL}, {"0038imm", "ER", "entered-in-error", NULL},
    {"0038imm", "IP", "completed", NULL}, {"0038imm", "A", "completed", NULL},
    {"0038imm", "SC", "completed", NULL}, {"0038imm", "HD", "not-done", NULL},
    /* 0119/0038 -> MedicationRequestStatus */
    {"0119mr", "NW", "active", NULL}, {"0119mr", "OK", "active", NULL}, {"0119mr", "RE", "active", NULL},
    {"0119mr", "XO", "active", NULL}, {"0119mr", "XX", "active", NULL}, {"0119mr", "SC", "active", NULL},
    {"0119mr", "RL", "active", NULL}, {"0119mr", "CA", "cancelled", NULL},
    {"0119mr", "OC", "cancelled", NULL}, {"0119mr", "CR", "cancelled", NULL},
    {"0119mr", "DC", "stopped", NULL}, {"0119mr", "OD", "stopped", NULL},
    {"0119mr", "HD", "on-hold", NULL}, {"0119mr", "OH", "on-hold", NULL},
    {"0038mr", "A", "active", NULL}, {"0038mr", "IP", "active", NULL}, {"0038mr", "SC", "active", NULL},
    {"0038mr", "CM", "completed", NULL}, {"0038mr", "CA", "cancelled", NULL},
    {"0038mr", "DC", "stopped", NULL}, {"0038mr", "ER", "entered-in-error", NULL},
    {"0038mr", "HD", "on-hold", NULL}, {"0038mr", "RP", "cancelled", NULL},
    /* 0119/0038 -> MedicationAdministrationStatus */
    {"0119ma", "NW", "in-progress", NULL}, {"0119ma", "OK", "in-progress", NULL},
    {"0119ma", "RE", "completed", NULL}, {"0119ma", "XO", "in-progress", NULL},
    {"0119ma", "SC", "in-progress", NULL}, {"0119ma", "CA", "stopped", NULL},
    {"0119ma", "DC", "stopped", NULL}, {"0119ma", "HD", "on-hold", NULL},
    {"0038ma", "A", "in-progress", NULL}, {"0038ma", "IP", "in-progress", NULL},
    {"0038ma", "CM", "completed", NULL}, {"0038ma", "CA", "stopped", NULL},
    {"0038ma", "DC", "stopped", NULL}, {"0038ma", "ER", "entered-in-error", NULL},
    {"0038ma", "HD", "on-hold", NULL}, {"0038ma", "SC", "in-progress", NULL},
    /* 0322 Completion Status -> ImmunizationStatus / MedicationAdministrationStatus */
    {"0322", "CP", "completed", NULL}, {"0322", "PA", "completed", NULL},
    {"0322", "RE", "not-done", NULL}, {"0322", "NA", "not-done", NULL},
    {"0322ma", "CP", "completed", NULL}, {"0322ma", "PA", "completed", NULL},
    {"0322ma", "RE", "not-done", NULL}, {"0322ma", "NA", "not-done", NULL},
    /* 0127 Allergen Type -> AllergyIntoleranceCategory */
    {"0127", "DA", "medication", NULL}, {"0127", "FA", "food", NULL}, {"0127", "MA", "medication", NULL},
    {"0127", "MC", "medication", NULL}, {"0127", "EA", "environment", NULL},
    {"0127", "AA", "environment", NULL}, {"0127", "PA", "environment", NULL},
    {"0127", "LA", "environment", NULL},
    /* 0128 Allergy Severity -> AllergyIntoleranceCriticality */
    {"0128", "SV", "high", NULL}, {"0128", "MO", "low", NULL}, {"0128", "MI", "low", NULL},
    {"0128", "U", "unable-to-assess", NULL},
    /* 0190 Address Type -> AddressUse / AddressType ("type" in the system column) */
    {"0190", "H", "home", NULL}, {"0190", "B", "work", NULL}, {"0190", "O", "work", NULL},
    {"0190", "C", "temp", NULL}, {"0190", "BA", "old", NULL}, {"0190", "BI", "billing", NULL},
    {"0190", "M", "postal", "type"}, {"0190", "SH", "postal", "type"}, {"0190", "P", "physical", "type"},
    {"0190", "L", "home", NULL}, {"0190", "BDL", "home", NULL}, {"0190", "RH", "home", NULL},
    {"0190", "F", "home", NULL}, {"0190", "N", "home", NULL}, {"0190", "V", "temp", NULL},
    /* 0200 Name Type -> NameUse */
    {"0200", "L", "official", NULL}, {"0200", "D", "usual", NULL}, {"0200", "A", "usual", NULL},
    {"0200", "M", "maiden", NULL}, {"0200", "N", "nickname", NULL}, {"0200", "B", "old", NULL},
    {"0200", "BAD", "old", NULL}, {"0200", "S", "anonymous", NULL}, {"0200", "T", "temp", NULL},
    {"0200", "C", "official", NULL}, {"0200", "R", "official", NULL}, {"0200", "U", "usual", NULL},
    {"0200", "P", "usual", NULL}, {"0200", "I", "usual", NULL}, {"0200", "K", "usual", NULL},
    /* 0201 Telecommunication Use Code -> ContactPointUse */
    {"0201", "PRN", "home", NULL}, {"0201", "ORN", "home", NULL}, {"0201", "VHN", "home", NULL},
    {"0201", "WPN", "work", NULL}, {"0201", "PRS", "mobile", NULL}, {"0201", "ASN", "work", NULL},
    {"0201", "EMR", "home", NULL}, {"0201", "NET", "home", NULL}, {"0201", "BPN", "work", NULL},
    {"0201", "home", "home", NULL}, {"0201", "work", "work", NULL},
    /* 0202 Telecommunication Equipment Type -> ContactPointSystem */
    {"0202", "PH", "phone", NULL}, {"0202", "FX", "fax", NULL}, {"0202", "MD", "other", NULL},
    {"0202", "CP", "phone", "mobile"}, {"0202", "SAT", "phone", NULL}, {"0202", "BP", "pager", NULL},
    {"0202", "Internet", "email", NULL}, {"0202", "X.400", "email", NULL},
    {"0202", "TDD", "other", NULL}, {"0202", "TTY", "other", NULL},
    /* 0103 Processing ID -> meta.tag (v2-0103) */
    {"0103", "P", "P", V2 "v2-0103"}, {"0103", "T", "T", V2 "v2-0103"}, {"0103", "D", "D", V2 "v2-0103"},
    /* 0278 Filler Status -> AppointmentStatus */
    {"0278", "Booked", "booked", NULL}, {"0278", "Pending", "pending", NULL},
    {"0278", "Cancelled", "cancelled", NULL}, {"0278", "Complete", "fulfilled", NULL},
    {"0278", "Noshow", "noshow", NULL}, {"0278", "Started", "arrived", NULL},
    {"0278", "Waitlist", "waitlist", NULL}, {"0278", "Overbook", "booked", NULL},
    {"0278", "Deleted", "entered-in-error", NULL}, {"0278", "DC", "cancelled", NULL},
    {"0278", "Blocked", "booked", NULL},
    /* 0271 Document Completion Status -> CompositionStatus */
    {"0271", "AU", "final", NULL}, {"0271", "DO", "final", NULL}, {"0271", "LA", "final", NULL},
    {"0271", "IP", "preliminary", NULL}, {"0271", "IN", "preliminary", NULL},
    {"0271", "PA", "preliminary", NULL}, {"0271", "DI", "preliminary", NULL},
    /* 0273 Document Availability Status -> DocumentReferenceStatus */
    {"0273", "AV", "current", NULL}, {"0273", "UN", "current", NULL},
    {"0273", "OB", "superseded", NULL}, {"0273", "CA", "entered-in-error", NULL},
    /* 0485 Priority -> RequestPriority */
    {"0485", "S", "stat", NULL}, {"0485", "A", "asap", NULL}, {"0485", "R", "routine", NULL},
    {"0485", "P", "urgent", NULL}, {"0485", "C", "routine", NULL}, {"0485", "T", "urgent", NULL},
    {"0485", "PRN", "routine", NULL},
};
const size_t cv_nvocab = N(cv_vocab);

/* ---- coding system names (HL7 table 0396) -> FHIR system URIs ---- */

const struct cv_system cv_systems[] = {
    {"LN", "http://loinc.org"},
    {"LOINC", "http://loinc.org"},
    {"SCT", "http://snomed.info/sct"},
    {"SNM", "http://snomed.info/sct"},
    {"SNOMEDCT", "http://snomed.info/sct"},
    {"SNM3", "http://snomed.info/sct"},
    {"I10", "http://hl7.org/fhir/sid/icd-10"},
    {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"I10P", "http://www.cms.gov/Medicare/Coding/ICD10"},
    {"I9", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I9CDX", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"UCUM", "http://unitsofmeasure.org"},
    {"CVX", "http://hl7.org/fhir/sid/cvx"},
    {"MVX", "http://terminology.hl7.org/CodeSystem/MVX"},
    {"NDC", "http://hl7.org/fhir/sid/ndc"},
    {"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"RxNorm", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"C4", "http://www.ama-assn.org/go/cpt"},
    {"CPT", "http://www.ama-assn.org/go/cpt"},
    {"CPT4", "http://www.ama-assn.org/go/cpt"},
    {"HCPCS", "urn:oid:2.16.840.1.113883.6.285"},
    {"HCPT", "urn:oid:2.16.840.1.113883.6.285"},
    {"NCIT", "http://ncimeta.nci.nih.gov"},
    {"NUCC", "http://nucc.org/provider-taxonomy"},
    {"CDCREC", "urn:oid:2.16.840.1.113883.6.238"},
    {"CDCPHINVS", "urn:oid:2.16.840.1.114222.4.5.274"},
    {"PHINQUESTION", "urn:oid:2.16.840.1.114222.4.5.232"},
    {"ISO3166_1", "urn:iso:std:iso:3166"},
    {"ISO+", "urn:iso:std:iso:11073:10101"},
    {"ISO639", "urn:ietf:bcp:47"},
    {"HL70396", "http://terminology.hl7.org/CodeSystem/v2-0396"},
    {"ART", "http://terminology.hl7.org/CodeSystem/WHO-ART"},
    {"ATC", "http://www.whocc.no/atc"},
    {"UML", "http://www.nlm.nih.gov/research/umls"},
    {"UMLS", "http://www.nlm.nih.gov/research/umls"},
    {"FDDX", "http://www.fdbhealth.com/"},
};
const size_t cv_nsystems = N(cv_systems);
