//! JSON values between Python and Rust: requests in, response dicts out.

use budgetllm::ChatRequest;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::runtime::IntoPython;

/// A serialisable Rust value that becomes plain Python data (dicts, lists, str, int, float,
/// bool, None) when handed back.
pub(crate) struct Json<T>(pub(crate) T);

impl<T: Serialize + Send + 'static> IntoPython for Json<T> {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.0)
    }
}

impl IntoPython for () {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(py.None())
    }
}

impl IntoPython for bool {
    fn into_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(pyo3::types::PyBool::new(py, self)
            .to_owned()
            .into_any()
            .unbind())
    }
}

/// `value` as plain Python data.
pub(crate) fn to_python<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    pythonize::pythonize(py, value)
        .map(Bound::unbind)
        .map_err(|error| {
            crate::errors::internal(format!("cannot convert a result to Python: {error}"))
        })
}

/// `object` as JSON; `what` names the argument in the error.
pub(crate) fn to_json(object: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    pythonize::depythonize(object).map_err(|error| {
        PyTypeError::new_err(format!(
            "{what} must be JSON data (dict, list, str, int, float, bool or None): {error}"
        ))
    })
}

/// An OpenAI Chat Completions request body (a dict) as a [`ChatRequest`].
pub(crate) fn chat_request(body: &Bound<'_, PyAny>) -> PyResult<ChatRequest> {
    let value = to_json(body, "the request")?;
    if !value.is_object() {
        return Err(PyTypeError::new_err(
            "the request must be a dict shaped like an OpenAI Chat Completions body",
        ));
    }
    ChatRequest::try_from(value).map_err(|error| {
        PyTypeError::new_err(format!(
            "the request does not fit the OpenAI Chat Completions shape: {error}"
        ))
    })
}
