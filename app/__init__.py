"""The Streamlit app over the published marts (`streamlit run app/streamlit_app.py`)."""
