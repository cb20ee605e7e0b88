// Enhancement only: every page works without it.
// Submitting the language selector as soon as a language is picked.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("locale");
  if (select) {
    select.addEventListener("change", () => select.form.submit());
  }
});
