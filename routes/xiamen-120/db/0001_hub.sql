-- The hub database of the Xiamen 120 pack (routes/xiamen-120/README.md, "Hub database").
-- Every column is text as the interfaces carry it; times are 'YYYY-MM-DD HH:mm:ss' in Asia/Shanghai.

-- One row per apply record pushed by the 120 platform (pushApplyRecord), updated by the hospital
-- (updateApplyRecord) and confirmed or refused by it (stateUpdata).
CREATE TABLE apply_record (
    apply_no           TEXT PRIMARY KEY,
    event_no           TEXT NOT NULL,
    receive_hospital   TEXT NOT NULL, -- the hospital's code in mappings/xiamen-120/hospitals.csv
    apply_time         TEXT,
    car_doctor         TEXT,
    car_nurse          TEXT,
    car_tel            TEXT,
    ambulance_org      TEXT,
    ambulance_number   TEXT,
    vehicle_distance   TEXT,
    service_time       TEXT,
    patient_name       TEXT,
    identity_no        TEXT,
    sex                TEXT,          -- 0 男, 1 女, as pushApplyRecord writes it
    patient_age        TEXT,
    health_card_no     TEXT,
    patient_tel        TEXT,
    patient_address    TEXT,
    condition_des      TEXT,
    diagnosis          TEXT,
    temperature        TEXT,
    pulse              TEXT,
    breath             TEXT,
    blood              TEXT,
    heartrate          TEXT,
    cardiogram_urls    TEXT,          -- JSON array of URLs
    status             TEXT,
    scene_address      TEXT,
    treat_step         TEXT,
    predict_time       TEXT,
    patient_level_code TEXT,
    hospital_state     TEXT,          -- stateUpdata: 1 accepted, 0 refused; NULL until the hospital answers
    hospital_state_at  TEXT,
    pushed_at          TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX apply_record_event_no ON apply_record (event_no);
CREATE INDEX apply_record_identity_no ON apply_record (identity_no);
CREATE INDEX apply_record_health_card_no ON apply_record (health_card_no);
CREATE INDEX apply_record_pushed_at ON apply_record (pushed_at);

-- Diagnoses of delivered patients, as the hospitals answer getPatientDiagnosis.
CREATE TABLE patient_diagnosis (
    identity       TEXT NOT NULL DEFAULT '',
    health_card_no TEXT NOT NULL DEFAULT '',
    apply_no       TEXT NOT NULL DEFAULT '',
    icd10          TEXT NOT NULL DEFAULT '',
    diagnosis      TEXT NOT NULL DEFAULT '',
    hospital_code  TEXT NOT NULL,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (identity, health_card_no, apply_no, icd10, diagnosis)
);
CREATE INDEX patient_diagnosis_health_card_no ON patient_diagnosis (health_card_no);

-- Discharge summaries (three months back), as the hospitals answer getDischargeSummary.
CREATE TABLE discharge_summary (
    identity       TEXT NOT NULL DEFAULT '',
    health_card_no TEXT NOT NULL DEFAULT '',
    seq            INTEGER NOT NULL,
    summary        TEXT NOT NULL,
    hospital_code  TEXT NOT NULL,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (identity, health_card_no, seq)
);
CREATE INDEX discharge_summary_health_card_no ON discharge_summary (health_card_no);

-- Allergies and past history, as the hospitals answer getAllergyMes.
CREATE TABLE allergy (
    identity       TEXT NOT NULL DEFAULT '',
    health_card_no TEXT NOT NULL DEFAULT '',
    allergy        TEXT NOT NULL DEFAULT '',
    past_history   TEXT NOT NULL DEFAULT '',
    hospital_code  TEXT NOT NULL,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (identity, health_card_no)
);
CREATE INDEX allergy_health_card_no ON allergy (health_card_no);
