//! UWS 1.1 documents: a job, the job list, and a job's parameters and results, as the UWS
//! schema (v1.0 namespace, version="1.1") lays them out.

use chrono::{DateTime, Utc};

use crate::jobs::{Job, JobRef, Phase};
use crate::votable::xml_escaped;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NAMESPACES: &str = "version=\"1.1\" xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
     xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";

/// UWS times: ISO 8601 in UTC with milliseconds.
pub(super) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn element(out: &mut String, name: &str, value: Option<&str>) {
    match value {
        Some(value) => out.push_str(&format!(
            "  <uws:{name}>{}</uws:{name}>\n",
            xml_escaped(value)
        )),
        None => out.push_str(&format!("  <uws:{name} xsi:nil=\"true\"/>\n")),
    }
}

/// The address of a job's one result.
pub(super) fn result_url(jobs_url: &str, id: &str) -> String {
    format!("{jobs_url}/{id}/results/result")
}

pub(super) fn job(job: &Job, jobs_url: &str) -> String {
    let mut out = format!("{HEAD}<uws:job {NAMESPACES}>\n");
    element(&mut out, "jobId", Some(&job.id));
    if let Some(run_id) = &job.run_id {
        element(&mut out, "runId", Some(run_id));
    }
    element(&mut out, "ownerId", job.owner.as_deref());
    element(&mut out, "phase", Some(job.phase.name()));
    element(&mut out, "quote", None);
    element(&mut out, "creationTime", Some(&time(job.created_at)));
    element(&mut out, "startTime", job.started_at.map(time).as_deref());
    element(&mut out, "endTime", job.ended_at.map(time).as_deref());
    element(
        &mut out,
        "executionDuration",
        Some(&job.execution_duration.to_string()),
    );
    element(&mut out, "destruction", Some(&time(job.destruction)));
    out.push_str(&parameters_element(job, "  "));
    out.push_str(&results_element(job, jobs_url, "  "));
    if let (Phase::Error, Some(message)) = (job.phase, &job.error) {
        out.push_str(&format!(
            "  <uws:errorSummary type=\"fatal\" hasDetail=\"true\">\n    <uws:message>{}</uws:message>\n  </uws:errorSummary>\n",
            xml_escaped(message)
        ));
    }
    out.push_str("</uws:job>\n");
    out
}

pub(super) fn parameters(job: &Job) -> String {
    format!(
        "{HEAD}{}",
        parameters_element(job, "").replacen(
            "<uws:parameters>",
            &format!("<uws:parameters {NAMESPACES}>"),
            1
        )
    )
}

pub(super) fn results(job: &Job, jobs_url: &str) -> String {
    format!(
        "{HEAD}{}",
        results_element(job, jobs_url, "").replacen(
            "<uws:results>",
            &format!("<uws:results {NAMESPACES}>"),
            1
        )
    )
}

/// Parameters by their TAP names in lower case, as clients and TAP's examples write them.
fn parameters_element(job: &Job, indent: &str) -> String {
    let mut out = format!("{indent}<uws:parameters>\n");
    for (name, value) in &job.parameters {
        out.push_str(&format!(
            "{indent}  <uws:parameter id=\"{}\">{}</uws:parameter>\n",
            xml_escaped(&name.to_ascii_lowercase()),
            xml_escaped(value)
        ));
    }
    out.push_str(&format!("{indent}</uws:parameters>\n"));
    out
}

/// Exactly one result, `result`, once the job has completed (TAP 1.1, 3.2).
fn results_element(job: &Job, jobs_url: &str, indent: &str) -> String {
    if job.phase != Phase::Completed {
        return format!("{indent}<uws:results/>\n");
    }
    let mut attributes = format!(
        "id=\"result\" xlink:type=\"simple\" xlink:href=\"{}\"",
        xml_escaped(&result_url(jobs_url, &job.id))
    );
    if let Some(size) = job.result_size {
        attributes.push_str(&format!(" size=\"{size}\""));
    }
    if let Some(mime) = &job.result_type {
        attributes.push_str(&format!(" mime-type=\"{}\"", xml_escaped(mime)));
    }
    format!("{indent}<uws:results>\n{indent}  <uws:result {attributes}/>\n{indent}</uws:results>\n")
}

pub(super) fn job_list(jobs: &[JobRef], jobs_url: &str) -> String {
    let mut out = format!("{HEAD}<uws:jobs {NAMESPACES}>\n");
    for job in jobs {
        out.push_str(&format!(
            " <uws:jobref id=\"{id}\" xlink:type=\"simple\" xlink:href=\"{jobs_url}/{id}\">\n",
            id = xml_escaped(&job.id),
            jobs_url = xml_escaped(jobs_url)
        ));
        out.push_str(&format!("  <uws:phase>{}</uws:phase>\n", job.phase.name()));
        if let Some(run_id) = &job.run_id {
            out.push_str(&format!(
                "  <uws:runId>{}</uws:runId>\n",
                xml_escaped(run_id)
            ));
        }
        match &job.owner {
            Some(owner) => out.push_str(&format!(
                "  <uws:ownerId>{}</uws:ownerId>\n",
                xml_escaped(owner)
            )),
            None => out.push_str("  <uws:ownerId xsi:nil=\"true\"/>\n"),
        }
        out.push_str(&format!(
            "  <uws:creationTime>{}</uws:creationTime>\n </uws:jobref>\n",
            time(job.created_at)
        ));
    }
    out.push_str("</uws:jobs>\n");
    out
}
